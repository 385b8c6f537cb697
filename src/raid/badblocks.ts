/**
 * md's v1 bad-block log (md.c super_1_load/super_1_sync): `bblog_size` sectors at `bblog_offset`
 * sectors from the superblock, an array of little-endian u64 entries, each (sector << 10 | length),
 * both in units of 2^bblog_shift sectors; an all-ones entry ends the list. Sectors are absolute on
 * the member (md adds data_offset before recording). Pure decode/encode and mdadm's listing.
 */
import { SuperblockError } from './errors.js';

/** feature_map bit md sets once the log holds an entry (MD_FEATURE_BAD_BLOCKS). */
export const FEATURE_BAD_BLOCKS = 8;
/**
 * Longest entry written, in log units: md's BB_MAX_LEN (include/linux/badblocks.h). The on-disk
 * field has 10 bits, but md never writes more than 512, and Linux 6.1's badblocks_set, loading a
 * longer entry, inserts its 512-unit pieces in reverse order: is_badblock's binary search then
 * misses part of the list and md reads sectors listed bad (md-verify bb-fwd-*). Decoding still
 * accepts any 10-bit length.
 */
export const BB_MAX_LEN = 512;

export interface BadBlock {
  /** First bad sector on the member. */
  sector: number;
  /** Sectors. */
  length: number;
}

export function decodeBadBlocks(bytes: Uint8Array, shift: number): BadBlock[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength - (bytes.byteLength % 8));
  const out: BadBlock[] = [];
  for (let off = 0; off < v.byteLength; off += 8) {
    const bb = v.getBigUint64(off, true);
    if (bb === 0xffffffffffffffffn) break;
    const length = Number(bb & 0x3ffn) * 2 ** shift;
    const sector = Number(bb >> 10n) * 2 ** shift;
    // md's badblocks_set refuses zero-length entries, and super_1_load then fails the member.
    if (length === 0) throw new SuperblockError(`bad-block log entry ${off / 8} has length 0`);
    out.push({ sector, length });
  }
  return out;
}

/**
 * Encodes `list` into a log of `sizeBytes`, splitting ranges longer than one entry holds.
 * Returns null when they do not fit: md then fails the member (its log is full).
 */
export function encodeBadBlocks(list: readonly BadBlock[], shift: number, sizeBytes: number): Uint8Array | null {
  const unit = 2 ** shift;
  const entries: bigint[] = [];
  for (const b of mergeBadBlocks(list)) {
    // Round outwards to whole log units: a bad sector must never be forgotten.
    let start = Math.floor(b.sector / unit);
    const end = Math.ceil((b.sector + b.length) / unit);
    while (start < end) {
      const n = Math.min(BB_MAX_LEN, end - start);
      entries.push((BigInt(start) << 10n) | BigInt(n));
      start += n;
    }
  }
  if (entries.length * 8 > sizeBytes) return null;
  const bytes = new Uint8Array(sizeBytes).fill(0xff);
  const v = new DataView(bytes.buffer);
  entries.forEach((e, i) => v.setBigUint64(i * 8, e, true));
  return bytes;
}

/** Sorted, with overlapping and touching ranges joined (as md's badblocks_set keeps them). */
export function mergeBadBlocks(list: readonly BadBlock[]): BadBlock[] {
  const sorted = [...list].filter((b) => b.length > 0).sort((a, b) => a.sector - b.sector);
  const out: BadBlock[] = [];
  for (const b of sorted) {
    const last = out[out.length - 1];
    if (last && b.sector <= last.sector + last.length) last.length = Math.max(last.length, b.sector + b.length - last.sector);
    else out.push({ ...b });
  }
  return out;
}

/** Whether [sector, sector+length) touches a listed range. */
export function overlapsBadBlock(list: readonly BadBlock[], sector: number, length: number): boolean {
  return list.some((b) => b.sector < sector + length && sector < b.sector + b.length);
}

/** Removes [sector, sector+length) from the list (md clears a range after a successful write). */
export function clearBadBlocks(list: readonly BadBlock[], sector: number, length: number): BadBlock[] {
  const out: BadBlock[] = [];
  const end = sector + length;
  for (const b of list) {
    const bEnd = b.sector + b.length;
    if (bEnd <= sector || b.sector >= end) { out.push({ ...b }); continue; }
    if (b.sector < sector) out.push({ sector: b.sector, length: sector - b.sector });
    if (bEnd > end) out.push({ sector: end, length: bEnd - end });
  }
  return out;
}

/** Fields of the v1 superblock the listing needs. */
export interface BadBlockLogInfo { bblogSize: number; bblogOffset: number; featureMap: number }

/** What `mdadm --examine-badblocks` prints (super1.c examine_badblocks_super1). */
export function badBlocksText(name: string, sb: BadBlockLogInfo, list: readonly BadBlock[]): string {
  if (sb.bblogSize === 0 || sb.bblogSize > 100 || sb.bblogOffset === 0) return `No bad-blocks list configured on ${name}\n`;
  if ((sb.featureMap & FEATURE_BAD_BLOCKS) === 0) return `Bad-blocks list is empty in ${name}\n`;
  return `Bad-blocks on ${name}:\n` + list.map((b) => `${String(b.sector).padStart(20)} for ${b.length} sectors\n`).join('');
}
