/**
 * The md version-1 superblock (include/uapi/linux/raid/md_p.h, struct
 * mdp_superblock_1): decoding, encoding and the checksum, with the sanity
 * checks the kernel applies when it loads one (drivers/md/md.c super_1_load),
 * so that a superblock we accept is one md accepts, and one we write is one md
 * loads.
 *
 * All fields are little-endian. 256 bytes of fixed fields, then 2 bytes of role
 * per device number (`max_dev` of them). Sector values are numbers: the only
 * 64-bit values past 2^53 md stores are the "MaxSector" markers (all ones),
 * which decode as `Infinity`.
 */
import { SuperblockError } from './errors.js';

export const MD_SB_MAGIC = 0xa92b4efc;
/** The most device roles that fit in the 4 KiB md reads ((4096 - 256) / 2). */
export const MAX_DEV_LIMIT = 1920;
/** Bytes md reads for a superblock; what we read too. */
export const SB_READ_BYTES = 4096;
export const SECTOR = 512;

/** dev_roles values that are not a slot. */
export const ROLE_SPARE = 0xffff;
export const ROLE_FAULTY = 0xfffe;
export const ROLE_JOURNAL = 0xfffd;
export const ROLE_MAX = 0xff00;

/** feature_map bits, by md's names. */
export const Feature = {
  BitmapOffset: 1,
  RecoveryOffset: 2,
  ReshapeActive: 4,
  BadBlocks: 8,
  Replacement: 16,
  ReshapeBackwards: 32,
  NewOffset: 64,
  RecoveryBitmap: 128,
  Clustered: 256,
  Journal: 512,
  Ppl: 1024,
  MultiplePpls: 2048,
  Raid0Layout: 4096,
} as const;
const FEATURE_ALL = 0x1fff;

/** Human names of feature bits, as mdadm and the kernel docs call them. */
export const FEATURE_NAMES: Readonly<Record<number, string>> = {
  1: 'internal write-intent bitmap',
  2: 'recovery offset',
  4: 'reshape in progress',
  8: 'bad-block list with entries',
  16: 'replacement device',
  32: 'backwards reshape',
  64: 'new data offset (reshape)',
  128: 'bitmap-guided recovery',
  256: 'clustered md',
  512: 'write journal',
  1024: 'partial parity log (PPL)',
  2048: 'multiple PPLs',
  4096: 'RAID-0 layout',
};

/** The value md stores for "no sector" (resync done, no reshape): all ones. */
export const MAX_SECTOR = Infinity;

/** One decoded version-1 superblock. */
export interface Superblock {
  /** 0, 1 or 2: where it lives (end, start, 4 KiB from start). */
  minorVersion: 0 | 1 | 2;
  featureMap: number;
  setUuid: Uint8Array;
  setName: string;
  /** Creation time: seconds since the epoch (low 40 bits) and microseconds (high 24). */
  ctime: number;
  ctimeUsec: number;
  level: number;
  layout: number;
  /** Used size of each member, in sectors (md's dev_sectors). */
  size: number;
  /** Chunk size in sectors. */
  chunkSize: number;
  raidDisks: number;
  bitmapOffset: number;
  newLevel: number;
  reshapePosition: number;
  deltaDisks: number;
  newLayout: number;
  newChunk: number;
  newOffset: number;
  dataOffset: number;
  dataSize: number;
  superOffset: number;
  recoveryOffset: number;
  devNumber: number;
  cntCorrectedRead: number;
  deviceUuid: Uint8Array;
  devflags: number;
  bblogShift: number;
  bblogSize: number;
  bblogOffset: number;
  utime: number;
  utimeUsec: number;
  events: number;
  resyncOffset: number;
  maxDev: number;
  /** Role of every device number: a slot, ROLE_SPARE, ROLE_FAULTY or ROLE_JOURNAL. */
  devRoles: number[];
  /** The checksum as stored, and whether it matched (decode only refuses a mismatch). */
  sbCsum: number;
}

/**
 * The largest 64-bit field value asynctx reads or writes (events, sizes,
 * offsets): the reader's and the writer's one bound, so nothing written can
 * be unreadable.
 */
export const MAX_U64_FIELD = Number.MAX_SAFE_INTEGER;

function getU64(v: DataView, off: number, what: string): number {
  const x = v.getBigUint64(off, true);
  if (x === 0xffffffffffffffffn) return MAX_SECTOR;
  if (x > BigInt(MAX_U64_FIELD)) throw new SuperblockError(`superblock field ${what} is out of range (${x})`);
  return Number(x);
}

function setU64(v: DataView, off: number, x: number): void {
  if (x !== MAX_SECTOR && !(Number.isSafeInteger(x) && x >= 0 && x <= MAX_U64_FIELD)) {
    throw new SuperblockError(`superblock field value ${x} is out of range (0..${MAX_U64_FIELD})`);
  }
  v.setBigUint64(off, x === MAX_SECTOR ? 0xffffffffffffffffn : BigInt(x), true);
}

/**
 * The checksum md computes (calc_sb_1_csum): the sum of the little-endian
 * 32-bit words of the first 256 + 2·max_dev bytes with sb_csum taken as zero,
 * a trailing 16-bit word added when max_dev is odd, then the carry folded in.
 */
export function sbChecksum(bytes: Uint8Array, maxDev: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let size = 256 + maxDev * 2;
  let sum = 0; // < 2^43 for the largest superblock: exact in a double
  let off = 0;
  for (; size >= 4; size -= 4, off += 4) if (off !== 216) sum += v.getUint32(off, true);
  if (size === 2) sum += v.getUint16(off, true);
  return ((sum % 0x100000000) + Math.floor(sum / 0x100000000)) >>> 0;
}

function decodeName(b: Uint8Array): string {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  return new TextDecoder('latin1').decode(b.subarray(0, end));
}

/**
 * Where the superblock of a given minor version sits on a member of
 * `deviceSectors` sectors, in sectors (the same rule in md and mdadm).
 */
export function superOffsetFor(minor: 0 | 1 | 2, deviceSectors: number): number {
  if (minor === 1) return 0;
  if (minor === 2) return 8;
  return (deviceSectors - 16) & ~7;
}

/**
 * Decodes and checks one superblock read from `superOffset` sectors into a
 * member of `deviceSectors` sectors.
 * @throws SuperblockError when it is not a valid md v1 superblock for that place.
 */
export function decodeSuperblock(bytes: Uint8Array, minor: 0 | 1 | 2, deviceSectors: number): Superblock {
  if (bytes.byteLength < 1024) throw new SuperblockError('superblock read was short');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint32(0, true);
  if (magic !== MD_SB_MAGIC) {
    throw new SuperblockError(`no md superblock (magic ${magic.toString(16).padStart(8, '0')}, expected a92b4efc)`);
  }
  const major = v.getUint32(4, true);
  if (major !== 1) throw new SuperblockError(`md superblock major version ${major} is not supported (only 1.x)`);
  const maxDev = v.getUint32(220, true);
  if (maxDev > MAX_DEV_LIMIT) throw new SuperblockError(`superblock max_dev ${maxDev} exceeds ${MAX_DEV_LIMIT}`);
  const superOffset = getU64(v, 144, 'super_offset');
  const expected = superOffsetFor(minor, deviceSectors);
  if (superOffset !== expected) {
    throw new SuperblockError(`superblock records super_offset ${superOffset} but was found at sector ${expected}`);
  }
  const stored = v.getUint32(216, true);
  const computed = sbChecksum(bytes, maxDev);
  if (stored !== computed) {
    throw new SuperblockError(
      `superblock checksum mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)})`,
    );
  }
  const featureMap = v.getUint32(8, true);
  if ((featureMap & ~FEATURE_ALL) !== 0) {
    throw new SuperblockError(`superblock has unknown feature bits 0x${(featureMap & ~FEATURE_ALL).toString(16)}`);
  }
  // md refuses non-zero padding: it may be a feature it does not know.
  if (v.getUint32(12, true) !== 0 || bytes.subarray(224, 256).some((x) => x !== 0)) {
    throw new SuperblockError('superblock padding is not zero (unknown newer format?)');
  }
  const dataSize = getU64(v, 136, 'data_size');
  if (dataSize < 10) throw new SuperblockError(`superblock data_size ${dataSize} is too small`);
  const dataOffset = getU64(v, 128, 'data_offset');
  const ctimeRaw = v.getBigUint64(64, true);
  const utimeRaw = v.getBigUint64(192, true);
  const devRoles: number[] = [];
  for (let i = 0; i < maxDev; i++) devRoles.push(v.getUint16(256 + 2 * i, true));
  const sb: Superblock = {
    minorVersion: minor,
    featureMap,
    setUuid: bytes.slice(16, 32),
    setName: decodeName(bytes.subarray(32, 64)),
    ctime: Number(ctimeRaw & 0xffffffffffn),
    ctimeUsec: Number(ctimeRaw >> 40n),
    level: v.getInt32(72, true),
    layout: v.getUint32(76, true),
    size: getU64(v, 80, 'size'),
    chunkSize: v.getUint32(88, true),
    raidDisks: v.getUint32(92, true),
    bitmapOffset: v.getInt32(96, true),
    newLevel: v.getInt32(100, true),
    reshapePosition: getU64(v, 104, 'reshape_position'),
    deltaDisks: v.getInt32(112, true),
    newLayout: v.getUint32(116, true),
    newChunk: v.getUint32(120, true),
    newOffset: v.getInt32(124, true),
    dataOffset,
    dataSize,
    superOffset,
    recoveryOffset: getU64(v, 152, 'recovery_offset'),
    devNumber: v.getUint32(160, true),
    cntCorrectedRead: v.getUint32(164, true),
    deviceUuid: bytes.slice(168, 184),
    devflags: bytes[184]!,
    bblogShift: bytes[185]!,
    bblogSize: v.getUint16(186, true),
    bblogOffset: v.getInt32(188, true),
    utime: Number(utimeRaw & 0xffffffffffn),
    utimeUsec: Number(utimeRaw >> 40n),
    events: getU64(v, 200, 'events'),
    resyncOffset: getU64(v, 208, 'resync_offset'),
    maxDev,
    devRoles,
    sbCsum: stored,
  };
  // md: 1.1 and 1.2 keep data after the superblock.
  if (minor !== 0 && dataOffset < superOffset + Math.ceil((256 + 2 * maxDev) / 512)) {
    throw new SuperblockError(`superblock data_offset ${dataOffset} overlaps the superblock`);
  }
  // Bound the geometry before anything sizes a table or a loop by it (md: a
  // 1.x role table holds at most MAX_DEV_LIMIT entries).
  if (sb.raidDisks < 1 || sb.raidDisks > MAX_DEV_LIMIT) {
    throw new SuperblockError(`superblock raid_disks ${sb.raidDisks} is out of range (1..${MAX_DEV_LIMIT})`);
  }
  if (sb.size > dataSize) {
    throw new SuperblockError(`superblock used size ${sb.size} exceeds its data_size ${dataSize} sectors`);
  }
  // md: "data overlaps metadata" — 1.0 keeps its superblock after the data.
  if (minor === 0 && dataOffset + dataSize > superOffset) {
    throw new SuperblockError(`superblock data (sectors ${dataOffset}..${dataOffset + dataSize}) overlaps the metadata at sector ${superOffset}`);
  }
  const room = minor === 0 ? superOffset : deviceSectors - dataOffset;
  if (room < dataSize) {
    throw new SuperblockError(`member is too small for the data its superblock describes (${room} < ${dataSize} sectors)`);
  }
  return sb;
}

/** Bytes md writes for this superblock: 256 + 2·max_dev rounded up to 512. */
export function superblockBytes(sb: Superblock): number {
  return Math.ceil((256 + 2 * sb.maxDev) / 512) * 512;
}

/** Encodes a superblock (checksum included) into a fresh buffer of superblockBytes(sb). */
export function encodeSuperblock(sb: Superblock): Uint8Array {
  if (sb.maxDev > MAX_DEV_LIMIT || sb.devRoles.length > sb.maxDev) {
    throw new SuperblockError(`cannot encode ${sb.devRoles.length} roles in max_dev ${sb.maxDev}`);
  }
  const bytes = new Uint8Array(superblockBytes(sb));
  const v = new DataView(bytes.buffer);
  v.setUint32(0, MD_SB_MAGIC, true);
  v.setUint32(4, 1, true);
  v.setUint32(8, sb.featureMap, true);
  bytes.set(sb.setUuid.subarray(0, 16), 16);
  const name = new TextEncoder().encode(sb.setName).subarray(0, 32);
  bytes.set(name, 32);
  v.setBigUint64(64, (BigInt(sb.ctimeUsec) << 40n) | BigInt(sb.ctime), true);
  v.setInt32(72, sb.level, true);
  v.setUint32(76, sb.layout, true);
  setU64(v, 80, sb.size);
  v.setUint32(88, sb.chunkSize, true);
  v.setUint32(92, sb.raidDisks, true);
  v.setInt32(96, sb.bitmapOffset, true);
  v.setInt32(100, sb.newLevel, true);
  setU64(v, 104, sb.reshapePosition);
  v.setInt32(112, sb.deltaDisks, true);
  v.setUint32(116, sb.newLayout, true);
  v.setUint32(120, sb.newChunk, true);
  v.setInt32(124, sb.newOffset, true);
  setU64(v, 128, sb.dataOffset);
  setU64(v, 136, sb.dataSize);
  setU64(v, 144, sb.superOffset);
  setU64(v, 152, sb.recoveryOffset);
  v.setUint32(160, sb.devNumber, true);
  v.setUint32(164, sb.cntCorrectedRead, true);
  bytes.set(sb.deviceUuid.subarray(0, 16), 168);
  bytes[184] = sb.devflags;
  bytes[185] = sb.bblogShift;
  v.setUint16(186, sb.bblogSize, true);
  v.setInt32(188, sb.bblogOffset, true);
  v.setBigUint64(192, (BigInt(sb.utimeUsec) << 40n) | BigInt(sb.utime), true);
  setU64(v, 200, sb.events);
  setU64(v, 208, sb.resyncOffset);
  v.setUint32(220, sb.maxDev, true);
  // Roles past the list given are unused device numbers: spares (0xffff), as md leaves them.
  for (let i = 0; i < sb.maxDev; i++) v.setUint16(256 + 2 * i, sb.devRoles[i] ?? ROLE_SPARE, true);
  const csum = sbChecksum(bytes, sb.maxDev);
  v.setUint32(216, csum, true);
  sb.sbCsum = csum;
  return bytes;
}

/** The features set in `featureMap`, by name. */
export function featureNames(featureMap: number): string[] {
  const out: string[] = [];
  for (let bit = 1; bit <= 4096; bit <<= 1) if (featureMap & bit) out.push(FEATURE_NAMES[bit] ?? `bit ${bit}`);
  return out;
}

/** 16 bytes as md prints them: four groups of eight hex digits joined by ':'. */
export function formatUuid(u: Uint8Array): string {
  const hex = Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('');
  return [hex.slice(0, 8), hex.slice(8, 16), hex.slice(16, 24), hex.slice(24, 32)].join(':');
}

/** Parses a uuid written as 32 hex digits with optional ':' or '-' separators. */
export function parseUuid(s: string): Uint8Array {
  const hex = s.replace(/[:-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new SuperblockError(`not a uuid: ${s}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The role of the member that holds `sb` (a slot, or ROLE_SPARE / ROLE_FAULTY / ROLE_JOURNAL). */
export function ownRole(sb: Superblock): number {
  if (sb.devNumber >= sb.maxDev) return ROLE_FAULTY;
  return sb.devRoles[sb.devNumber] ?? ROLE_SPARE;
}
