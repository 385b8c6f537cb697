/**
 * Reads the two per-member logs a v1 superblock points at: the internal write-intent bitmap
 * (`bitmap_offset`) and the bad-block log (`bblog_offset`, `bblog_size`), both signed sector
 * offsets from the superblock itself. Read-only; what `raid examine --bitmap/--badblocks` show.
 */
import { decodeBadBlocks, type BadBlock } from './badblocks.js';
import { BITMAP_SUPER_SIZE, bitmapLocation, decodeBitmapSuper, type BitmapSuper } from './bitmap.js';
import { SuperblockError } from './errors.js';
import type { Member } from './member.js';
import { Feature, type Superblock } from './superblock.js';

/** The member's bitmap header and bits; throws when the superblock declares no internal bitmap. */
export async function readMemberBitmap(member: Member, sb: Superblock): Promise<{ super: BitmapSuper; bits: Uint8Array }> {
  if ((sb.featureMap & Feature.BitmapOffset) === 0) {
    throw new SuperblockError(`${member.name} has no internal write-intent bitmap (feature map 0x${sb.featureMap.toString(16)})`);
  }
  const head = new Uint8Array(BITMAP_SUPER_SIZE);
  const at = bitmapLocation(sb.superOffset, sb.bitmapOffset, { syncSize: 0, chunkSize: 1 });
  await member.read(head, at.superStart);
  const bsb = decodeBitmapSuper(head);
  const loc = bitmapLocation(sb.superOffset, sb.bitmapOffset, bsb);
  const bits = new Uint8Array(loc.bitsLength);
  if (bits.length) await member.read(bits, loc.bitsStart);
  return { super: bsb, bits };
}

/** The member's bad-block list ([] when no log is configured or the log is empty). */
export async function readMemberBadBlocks(member: Member, sb: Superblock): Promise<BadBlock[]> {
  if (sb.bblogSize === 0 || sb.bblogOffset === 0 || (sb.featureMap & Feature.BadBlocks) === 0) return [];
  const bytes = new Uint8Array(sb.bblogSize * 512);
  await member.read(bytes, (sb.superOffset + sb.bblogOffset) * 512);
  return decodeBadBlocks(bytes, sb.bblogShift);
}
