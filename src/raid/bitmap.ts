/**
 * md's internal write-intent bitmap, on-disk format (drivers/md/md-bitmap.h): a 256-byte
 * `bitmap_super_t` at `bitmap_offset` sectors from the v1 superblock, followed by one bit per
 * bitmap chunk of the sync range, bit i in byte i>>3 at position i&7 (little-endian bit order).
 * Pure encode/decode and mdadm -X's report; the write/resync hooks use these.
 */
import { SuperblockError } from './errors.js';
import { humanSize } from './report.js';
import { formatUuid } from './superblock.js';

export const BITMAP_MAGIC = 0x6d746962;
export const BITMAP_SUPER_SIZE = 256;
/** Versions md accepts: 3 (host-endian, legacy), 4 (little-endian), 5 (clustered). */
export const BITMAP_MAJOR_LO = 3;
export const BITMAP_MAJOR_HI = 4;
export const BITMAP_MAJOR_CLUSTERED = 5;

/** `state` bits of bitmap_super_t. */
export const BitmapState = { Stale: 1 << 1, WriteError: 1 << 2, HostEndian: 1 << 15 } as const;

export interface BitmapSuper {
  magic: number;
  version: number;
  uuid: Uint8Array;
  events: number;
  eventsCleared: number;
  /** Sectors of each member covered (md's sync range). */
  syncSize: number;
  state: number;
  /** Bytes per bit. */
  chunkSize: number;
  /** Seconds between lazy clears. */
  daemonSleep: number;
  writeBehind: number;
  sectorsReserved: number;
  nodes: number;
  clusterName: string;
}

/** Decodes and checks a bitmap superblock as md_bitmap_read_sb does. */
export function decodeBitmapSuper(bytes: Uint8Array): BitmapSuper {
  if (bytes.length < BITMAP_SUPER_SIZE) throw new SuperblockError(`bitmap superblock needs ${BITMAP_SUPER_SIZE} bytes, got ${bytes.length}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, BITMAP_SUPER_SIZE);
  const nameBytes = bytes.subarray(72, 136);
  const nul = nameBytes.indexOf(0);
  const sb: BitmapSuper = {
    magic: v.getUint32(0, true),
    version: v.getUint32(4, true),
    uuid: bytes.slice(8, 24),
    events: Number(v.getBigUint64(24, true)),
    eventsCleared: Number(v.getBigUint64(32, true)),
    syncSize: Number(v.getBigUint64(40, true)),
    state: v.getUint32(48, true),
    chunkSize: v.getUint32(52, true),
    daemonSleep: v.getUint32(56, true),
    writeBehind: v.getUint32(60, true),
    sectorsReserved: v.getUint32(64, true),
    nodes: v.getUint32(68, true),
    clusterName: new TextDecoder().decode(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)),
  };
  if (sb.magic !== BITMAP_MAGIC) throw new SuperblockError(`bitmap magic 0x${sb.magic.toString(16)} is not 0x${BITMAP_MAGIC.toString(16)}`);
  if (sb.version < BITMAP_MAJOR_LO || sb.version > BITMAP_MAJOR_CLUSTERED) throw new SuperblockError(`bitmap version ${sb.version} is not one md knows (3-5)`);
  // md: chunk size a power of two, at least 512 bytes; daemon_sleep 1..MAX_SCHEDULE_TIMEOUT/HZ.
  if (sb.chunkSize < 512 || (sb.chunkSize & (sb.chunkSize - 1)) !== 0) throw new SuperblockError(`bitmap chunk size ${sb.chunkSize} is not a power of two of at least 512`);
  if (sb.daemonSleep < 1) throw new SuperblockError(`bitmap daemon sleep ${sb.daemonSleep} is out of range`);
  return sb;
}

export function encodeBitmapSuper(sb: BitmapSuper): Uint8Array {
  const bytes = new Uint8Array(BITMAP_SUPER_SIZE);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, sb.magic, true);
  v.setUint32(4, sb.version, true);
  bytes.set(sb.uuid.subarray(0, 16), 8);
  v.setBigUint64(24, BigInt(sb.events), true);
  v.setBigUint64(32, BigInt(sb.eventsCleared), true);
  v.setBigUint64(40, BigInt(sb.syncSize), true);
  v.setUint32(48, sb.state, true);
  v.setUint32(52, sb.chunkSize, true);
  v.setUint32(56, sb.daemonSleep, true);
  v.setUint32(60, sb.writeBehind, true);
  v.setUint32(64, sb.sectorsReserved, true);
  v.setUint32(68, sb.nodes, true);
  bytes.set(new TextEncoder().encode(sb.clusterName).subarray(0, 64), 72);
  return bytes;
}

/** Number of bits (chunks) covering the sync range. */
export function bitmapBits(sb: Pick<BitmapSuper, 'syncSize' | 'chunkSize'>): number {
  return Math.ceil(sb.syncSize / (sb.chunkSize / 512));
}

export function bitIsSet(bits: Uint8Array, i: number): boolean {
  return (bits[i >> 3]! & (1 << (i & 7))) !== 0;
}

export function setBit(bits: Uint8Array, i: number, on: boolean): void {
  if (on) bits[i >> 3]! |= 1 << (i & 7);
  else bits[i >> 3]! &= ~(1 << (i & 7));
}

/** Indices of the set bits among the first `count`. */
export function dirtyChunks(bits: Uint8Array, count: number): number[] {
  const out: number[] = [];
  for (let byte = 0; byte < Math.ceil(count / 8); byte++) {
    const b = bits[byte] ?? 0;
    if (b === 0) continue;
    for (let j = 0; j < 8; j++) if (b & (1 << j) && byte * 8 + j < count) out.push(byte * 8 + j);
  }
  return out;
}

/** mdadm bitmap.c's human_chunksize: "64 MB", "4 KB" (powers of 1024, binary units named in KB). */
export function humanChunkSize(bytes: number): string {
  const suffixes = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (bytes >= 1024 && i < suffixes.length - 1) { bytes /= 1024; i++; }
  return `${bytes} ${suffixes[i]}`;
}

/** printf's %.1f: glibc rounds an exact tie to even where toFixed rounds it up (6.25 -> 6.2). */
function printfFixed1(x: number): string {
  const t = x * 10;
  const fl = Math.floor(t);
  return t - fl === 0.5 && fl % 2 === 0 ? (fl / 10).toFixed(1) : x.toFixed(1);
}

function stateText(state: number): string {
  if (state & BitmapState.Stale) return 'Out of date';
  if (state & BitmapState.WriteError) return 'Write error';
  return 'OK';
}

/** What `mdadm -X` prints for one member's bitmap. */
export function bitmapExamineText(name: string, sb: BitmapSuper, bits: Uint8Array): string {
  const total = bitmapBits(sb);
  const dirty = dirtyChunks(bits, total).length;
  const pct = total === 0 ? 0 : (100 * dirty) / total;
  const lines = [
    `        Filename : ${name}`,
    `           Magic : ${sb.magic.toString(16).padStart(8, '0')}`,
    `         Version : ${sb.version}`,
    `            UUID : ${formatUuid(sb.uuid)}`,
    `          Events : ${sb.events}`,
    `  Events Cleared : ${sb.eventsCleared}`,
    `           State : ${stateText(sb.state)}`,
    `       Chunksize : ${humanChunkSize(sb.chunkSize)}`,
    `          Daemon : ${sb.daemonSleep}s flush period`,
    `      Write Mode : ${sb.writeBehind ? `Allow write behind, max ${sb.writeBehind}` : 'Normal'}`,
    `       Sync Size : ${Math.floor(sb.syncSize / 2)}${humanSize(sb.syncSize * 512)}`,
    `          Bitmap : ${total} bits (chunks), ${dirty} dirty (${printfFixed1(pct)}%)`,
  ];
  return lines.join('\n') + '\n';
}

export function bitmapExamineJson(name: string, sb: BitmapSuper, bits: Uint8Array): Record<string, unknown> {
  const total = bitmapBits(sb);
  return {
    filename: name, magic: sb.magic.toString(16), version: sb.version, uuid: formatUuid(sb.uuid),
    events: sb.events, eventsCleared: sb.eventsCleared, state: stateText(sb.state),
    chunkSize: sb.chunkSize, daemonSleep: sb.daemonSleep, writeBehind: sb.writeBehind,
    syncSize: sb.syncSize, bits: total, dirty: dirtyChunks(bits, total).length,
  };
}

/**
 * Where a member's bitmap lies, in bytes from the member's start: `bitmap_offset` is signed
 * sectors from the v1 superblock (positive for 1.1/1.2, negative for 1.0 which keeps it before
 * the superblock at the device's end); the bits follow the 256-byte header.
 */
export function bitmapLocation(superOffsetSectors: number, bitmapOffset: number, sb: Pick<BitmapSuper, 'syncSize' | 'chunkSize'>): { superStart: number; bitsStart: number; bitsLength: number } {
  const superStart = (superOffsetSectors + bitmapOffset) * 512;
  if (superStart < 0) throw new SuperblockError(`bitmap offset ${bitmapOffset} points before the member's start`);
  return { superStart, bitsStart: superStart + BITMAP_SUPER_SIZE, bitsLength: Math.ceil(bitmapBits(sb) / 8) };
}
