/**
 * Creating an array the way mdadm --create does with metadata 1.2: the same
 * default data offset (room for a bitmap and reshape headroom, rounded to
 * 1 MiB), the same used size (smallest member, whole chunks), bad-block log
 * space, max_dev and role table, so Linux md assembles what we write.
 * (mdadm super1.c validate_geometry1 / init_super1 / write_init_super1.)
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RaidArray, type RaidArrayOptions } from './array.js';
import { readSuperblock } from './assemble.js';
import { RaidUsageError } from './errors.js';
import { parityDisks, validateGeometry } from './layout.js';
import type { Member } from './member.js';
import { BITMAP_MAGIC, BITMAP_MAJOR_HI, BITMAP_SUPER_SIZE, type BitmapSuper } from './bitmap.js';
import { MemberTable, newDeviceUuid } from './member_table.js';
import { isMultiplePpl, PPL_AREA_SECTORS, pplUnion } from './ppl.js';
import { Feature, MAX_SECTOR, ROLE_SPARE, SECTOR, superOffsetFor, type Superblock } from './superblock.js';
import { WriteIntent } from './write_intent.js';
import { opsOrDefault } from './ops.js';

/** Members a PPL array may have (the kernel tracks their flushes in one 64-bit word). */
export const PPL_MAX_DISKS = 64;

/** mdadm's choose_bm_space: sectors kept for a write-intent bitmap on a device of `devSectors`. */
export function chooseBitmapSpace(devSectors: number): number {
  if (devSectors < 64 * 2) return 0;
  if (devSectors - 64 * 2 >= 200 * 1024 * 1024 * 2) return 128 * 2;
  if (devSectors - 4 * 2 > 8 * 1024 * 1024 * 2) return 64 * 2;
  return 4 * 2;
}

/**
 * mdadm's default data offset for metadata 1.1/1.2 on a device of
 * `devSectors`: superblock + bitmap (or PPL) space + reshape headroom (up to
 * 128 MiB, aiming at ~0.1% of the device but at least two chunks' worth),
 * rounded up to 1 MiB. `reserved` is the bitmap or PPL space in sectors
 * (default: the bitmap's, choose_bm_space).
 */
export function defaultDataOffset(devSectors: number, chunkSectors: number, reserved = chooseBitmapSpace(devSectors)): number {
  const chunkKiB = chunkSectors / 2;
  let headroom = 128 * 1024 * 2;
  while (headroom * 1024 > devSectors && headroom / 2 >= chunkKiB * 2 * 2) headroom /= 2;
  const raw = 12 * 2 + reserved + headroom;
  return Math.ceil(raw / 2048) * 2048;
}

/** Used size per member (sectors) for members of these sizes: the smallest free space, whole chunks (as KiB, as mdadm rounds). */
export function defaultComponentSize(devSectors: readonly number[], dataOffset: number, chunkSectors: number): number {
  return wholeChunks(Math.min(...devSectors.map((s) => s - dataOffset)), chunkSectors);
}

/** mdadm's validate_geometry1 for metadata 1.0: the device rounded to 4 KiB, less superblock, bad-block log and bitmap space. */
function freeSectors10(devSectors: number): number {
  return (devSectors & ~7) - (8 * 2 + 8 + chooseBitmapSpace(devSectors));
}

function wholeChunks(free: number, chunkSectors: number): number {
  const kib = Math.floor(free / 2);
  const chunkKiB = chunkSectors / 2;
  return (kib - (kib % chunkKiB)) * 2;
}

/** mdadm's DEFAULT_BITMAP_DELAY: seconds between bitmap daemon passes. */
export const DEFAULT_BITMAP_DELAY = 5;
/** mdadm 4.2 Create.c: members whose used size is over 100 GiB get an internal bitmap unless told otherwise. */
export const AUTO_BITMAP_SECTORS = 100 * 1024 * 1024 * 2;

/**
 * mdadm 4.2's add_internal_bitmap1 when creating: for 1.1/1.2 the bitmap
 * sits 4 KiB after the superblock (bitmap_offset 8) in the space
 * choose_bm_space leaves; for 1.0 it sits before the superblock, below the
 * 4 KiB bad-block log, on a 4 KiB boundary (a negative bitmap_offset). Its
 * chunk is the smallest power of two from 4 KiB whose bits fit that space,
 * and at least 64 MiB unless a chunk is asked for.
 * @param size used sectors per member
 * @param chunkBytes the chunk asked for (mdadm --bitmap-chunk), or undefined
 * @param minor the superblock's minor version (0: 1.0, at the end)
 * @throws RaidUsageError when there is no room, or the chunk asked for is too small or not a power of two
 */
export function internalBitmapGeometry(size: number, chunkBytes?: number, minor: 0 | 1 | 2 = 2): { offset: number; chunkBytes: number } {
  const room = Math.min(chooseBitmapSpace(size), 128 * 2);
  if (room <= 1) throw new RaidUsageError(`members are too small for an internal write-intent bitmap (${size} sectors)`);
  const maxBits = (room * SECTOR - BITMAP_SUPER_SIZE) * 8;
  let minChunk = 4096;
  let bits = Math.floor((size * SECTOR) / minChunk) + 1;
  while (bits > maxBits) {
    minChunk *= 2;
    bits = Math.floor((bits + 1) / 2);
  }
  if (chunkBytes === undefined) return placed(size, Math.max(minChunk, 64 * 1024 * 1024), minor);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 512 || (chunkBytes & (chunkBytes - 1)) !== 0 || chunkBytes > 2 ** 30) {
    throw new RaidUsageError(`bitmap chunk ${chunkBytes} must be a power of two from 512 bytes to 1 GiB`);
  }
  if (chunkBytes < minChunk) throw new RaidUsageError(`bitmap chunk ${chunkBytes} is too small for these members: at least ${minChunk} bytes`);
  return placed(size, chunkBytes, minor);
}

/** Where add_internal_bitmap1 puts a bitmap of `chunkBytes` chunks: 1.0 counts its bits as size / chunk + 1, whole 4 KiB, and the 8-sector bad-block log below the superblock. */
function placed(size: number, chunkBytes: number, minor: 0 | 1 | 2): { offset: number; chunkBytes: number } {
  if (minor !== 0) return { offset: 8, chunkBytes };
  const bits = Math.floor((size * SECTOR) / chunkBytes) + 1;
  const room = Math.floor((Math.floor((bits + 7) / 8) + BITMAP_SUPER_SIZE + 4095) / 4096) * 8;
  return { offset: -room - 8, chunkBytes };
}

/** mdadm's calc_bitmap_size(bms, 4096) in sectors: header and bits of `size` sectors at `chunkBytes` a bit, whole 4 KiB. */
export function bitmapSectors(size: number, chunkBytes: number): number {
  const bits = Math.ceil((size * SECTOR) / chunkBytes);
  return Math.ceil((BITMAP_SUPER_SIZE + Math.ceil(bits / 8)) / 4096) * 8;
}

/** Superblock versions create writes: 1.0 (at the end), 1.1 (at the start), 1.2 (4 KiB from the start; the default). */
export type MetadataVersion = '1.0' | '1.1' | '1.2';

/**
 * What mdadm's write_init_super1 records for one member of `devSectors`:
 * where its superblock is, its data size, and its bad-block log — 8 sectors
 * after the bitmap space for 1.1/1.2, just before the superblock for 1.0.
 */
function memberPlace(minor: 0 | 1 | 2, devSectors: number, size: number, dataOffset: number, bmSpace: number): Pick<Superblock, 'superOffset' | 'dataSize' | 'bblogSize' | 'bblogOffset'> {
  const superOffset = superOffsetFor(minor, devSectors);
  if (minor === 0) {
    let space = bmSpace + 8;
    if (superOffset < size + space) space = superOffset - size;
    return { superOffset, dataSize: superOffset - space, bblogSize: space >= 8 ? 8 : 0, bblogOffset: space >= 8 ? -8 : 0 };
  }
  const bblog = dataOffset >= superOffset + 8 + bmSpace + 8;
  return { superOffset, dataSize: devSectors - dataOffset, bblogSize: bblog ? 8 : 0, bblogOffset: bblog ? 8 + bmSpace : 0 };
}

/** Data offset and used size per member for `minor` (mdadm validate_geometry1 and Create's rounding). */
function placement(minor: 0 | 1 | 2, sizes: readonly number[], chunkSectors: number, ppl: boolean): { dataOffset: number; size: number } {
  if (minor === 0) return { dataOffset: 0, size: wholeChunks(Math.min(...sizes.map(freeSectors10)), chunkSectors) };
  const dataOffset = defaultDataOffset(sizes[0]!, chunkSectors, ppl ? PPL_AREA_SECTORS : chooseBitmapSpace(sizes[0]!));
  return { dataOffset, size: defaultComponentSize(sizes, dataOffset, chunkSectors) };
}

export interface CreateOptions extends RaidArrayOptions {
  readonly level: number;
  /** md algorithm number (default left-symmetric, 2; ignored for RAID-4, which records 0 as mdadm does). */
  readonly layout?: number;
  /** Chunk size in bytes (default 512 KiB, mdadm's default). */
  readonly chunkBytes?: number;
  /** Array name; stored as "host:name" like mdadm (default "<hostname>:0"). */
  readonly name?: string;
  readonly uuid?: Uint8Array;
  /** Trust the members' current contents as in sync (no initial resync needed). */
  readonly assumeClean?: boolean;
  /** Overwrite members that already hold an md superblock. */
  readonly overwrite?: boolean;
  /**
   * How parity is kept consistent across a crash: 'resync' (default: the
   * array is resynced after an unclean stop) or 'ppl' (RAID-5: a partial
   * parity log on every member, md's MD_FEATURE_PPL).
   */
  readonly consistencyPolicy?: 'resync' | 'ppl';
  /** An internal write-intent bitmap, or none (default: internal when the used size per member is over 100 GiB and no PPL, as mdadm 4.2). */
  readonly bitmap?: 'internal' | 'none';
  /** Bytes per bitmap bit (mdadm --bitmap-chunk; default as mdadm chooses, at least 64 MiB). */
  readonly bitmapChunkBytes?: number;
  /** Seconds between bitmap daemon passes (mdadm --delay; default 5). */
  readonly bitmapDelay?: number;
  /** Superblock version (mdadm --metadata; default 1.2). */
  readonly metadata?: MetadataVersion;
}

/** md's PPL limits at create (mdadm Create.c, raid5-ppl.c ppl_init_log). @throws RaidUsageError */
export function checkPplCreate(level: number, raidDisks: number): void {
  if (level !== 5) throw new RaidUsageError(`PPL consistency policy is only supported for RAID level 5 (not RAID-${level})`);
  if (raidDisks > PPL_MAX_DISKS) throw new RaidUsageError(`PPL supports at most ${PPL_MAX_DISKS} members (md's limit), not ${raidDisks}`);
}

/**
 * Writes superblocks onto `members` (null = a missing slot, as mdadm's
 * `missing`) and returns the running array. Unless `assumeClean` (or the array
 * starts degraded), `array.needsResync` is set: run resync() to compute parity.
 * @throws RaidUsageError for a bad geometry, members too small, or members that already belong to an array.
 */
export async function create(members: ReadonlyArray<Member | null>, opts: CreateOptions): Promise<RaidArray> {
  const raidDisks = members.length;
  const chunkBytes = opts.chunkBytes ?? 512 * 1024;
  const chunkSectors = chunkBytes / SECTOR;
  // RAID-4 has one layout (parity on the last member); mdadm and md's raid4 record it as 0.
  const layout = opts.level === 4 ? 0 : (opts.layout ?? 2);
  validateGeometry({ level: opts.level, raidDisks, layout, chunkSectors });
  const ppl = opts.consistencyPolicy === 'ppl';
  if (ppl) checkPplCreate(opts.level, raidDisks);
  const present = members.filter((m): m is Member => m !== null);
  const missing = raidDisks - present.length;
  if (missing > parityDisks(opts.level)) {
    throw new RaidUsageError(`RAID-${opts.level} can start with at most ${parityDisks(opts.level)} missing members, not ${missing}`);
  }
  if (!opts.overwrite) {
    for (const m of present) {
      const sb = await readSuperblock(m).catch(() => null);
      if (sb) throw new RaidUsageError(`${m.name} already holds an md superblock (array ${sb.setName}); refusing to overwrite it`);
    }
  }
  const minor = metadataMinor(opts.metadata, ppl);
  const sizes = present.map((m) => Math.floor(m.size / SECTOR));
  const { dataOffset, size } = placement(minor, sizes, chunkSectors, ppl);
  if (size < chunkSectors) {
    throw new RaidUsageError(`members are too small: ${Math.min(...sizes)} sectors leave no whole ${chunkBytes}-byte chunk after the ${dataOffset}-sector data offset`);
  }
  const sbBytes = Math.ceil((256 + 2 * raidDisks) / 512) * 512;
  const maxDev = (sbBytes - 256) / 2;
  // mdadm: a PPL and a bitmap exclude each other; no automatic bitmap with a PPL.
  if (ppl && opts.bitmap === 'internal') throw new RaidUsageError('the PPL consistency policy is not compatible with a write-intent bitmap');
  const withBitmap = !ppl && (opts.bitmap ?? (size > AUTO_BITMAP_SECTORS ? 'internal' : 'none')) === 'internal';
  const bitmap = withBitmap ? internalBitmapGeometry(size, opts.bitmapChunkBytes, minor) : null;
  // mdadm's write_init_super1: the bad-block log follows what lies 4 KiB past the superblock — the PPL
  // area, the bitmap as written (calc_bitmap_size, whole 4 KiB), or the space kept for a bitmap.
  // (1.0: the bitmap's room as placed, so it ends where the bad-block log begins.)
  const bmSpace = ppl ? PPL_AREA_SECTORS : bitmap ? (minor === 0 ? -bitmap.offset - 8 : bitmapSectors(size, bitmap.chunkBytes)) : chooseBitmapSpace(size);
  const master = newMaster({
    minor, ppl, bitmap, opts, layout, size, chunkSectors, raidDisks, dataOffset, maxDev, memberSectors: sizes[0]!, degraded: missing > 0,
  });
  const table = new MemberTable(master, raidDisks);
  members.forEach((m, slot) => {
    if (!m) return;
    const devSectors = Math.floor(m.size / SECTOR);
    const place = memberPlace(minor, devSectors, size, dataOffset, bmSpace);
    const sb: Superblock = { ...master, ...place, devNumber: slot, deviceUuid: newDeviceUuid(), devRoles: [] };
    table.slots[slot] = { device: { member: m, sb }, state: 'in_sync', recoveryOffset: 0 };
  });
  // Old 1.0/1.1 superblocks would confuse a later scan (mdadm zeroes them too).
  for (const m of present) await clearOtherSuperblocks(m, minor);
  const array = new RaidArray(table, { ...opts, ops: await opsOrDefault(opts.ops) });
  if (bitmap) await startBitmap(array, bitmap.chunkBytes, opts.bitmapDelay ?? DEFAULT_BITMAP_DELAY);
  await array.updateSuperblocks();
  // mdadm's write_init_ppl: a cleared area and an empty header on every member.
  await array.ppl?.writeEmpty();
  return array;
}

/** mdadm's write_bitmap1 at creation: the header, and every bit set (the first run resyncs what is not assumed clean). */
async function startBitmap(array: RaidArray, chunkBytes: number, delay: number): Promise<void> {
  if (!Number.isSafeInteger(delay) || delay < 1 || delay > 86400) throw new RaidUsageError(`bitmap delay ${delay} must be 1..86400 seconds`);
  const m = array.table.master;
  const header: BitmapSuper = {
    magic: BITMAP_MAGIC, version: BITMAP_MAJOR_HI, uuid: m.setUuid, events: 0, eventsCleared: 0, syncSize: m.size, state: 0,
    chunkSize: chunkBytes, daemonSleep: delay, writeBehind: 0, sectorsReserved: 0, nodes: 0, clusterName: '',
  };
  const bits = new Uint8Array(BITMAP_SUPER_SIZE + Math.ceil(Math.ceil(m.size / (chunkBytes / SECTOR)) / 8)).fill(0xff, BITMAP_SUPER_SIZE);
  const intent = await array.keepBitmap((env) => new WriteIntent(env, header, bits, false));
  await intent?.writeAll();
}

/** The minor version for `metadata`. @throws RaidUsageError for a version create does not write. */
function metadataMinor(metadata: MetadataVersion | undefined, ppl: boolean): 0 | 1 | 2 {
  const minor = ({ '1.0': 0, '1.1': 1, '1.2': 2 } as const)[metadata ?? '1.2'];
  if (minor === undefined) throw new RaidUsageError(`metadata ${String(metadata)} is not one asynctx creates (1.0, 1.1, 1.2)`);
  if (ppl && minor !== 2) throw new RaidUsageError(`a PPL with metadata ${metadata} is not implemented (1.2 has one)`);
  return minor;
}

async function clearOtherSuperblocks(m: Member, minor: 0 | 1 | 2): Promise<void> {
  const sectors = Math.floor(m.size / SECTOR);
  const zero = new Uint8Array(4096);
  const probe = new Uint8Array(4);
  const others = ([0, 1, 2] as const).filter((v) => v !== minor);
  for (const at of others.map((v) => superOffsetFor(v, sectors) * SECTOR)) {
    await m.read(probe, at);
    if (new DataView(probe.buffer).getUint32(0, true) === 0xa92b4efc) await m.write(zero, at);
  }
}

/** What newMaster needs to know of the array being made. */
interface MasterShape {
  readonly minor: 0 | 1 | 2;
  readonly ppl: boolean;
  readonly bitmap: { readonly offset: number; readonly chunkBytes: number } | null;
  readonly opts: CreateOptions;
  readonly layout: number;
  readonly size: number;
  readonly chunkSectors: number;
  readonly raidDisks: number;
  readonly dataOffset: number;
  readonly maxDev: number;
  /** Sectors of the first member (where a 1.0 superblock sits). */
  readonly memberSectors: number;
  readonly degraded: boolean;
}

/** The array's superblock as mdadm writes it at create (the per-member fields come after). */
function newMaster(shape: MasterShape): Superblock {
  const { minor, ppl, bitmap, opts, layout, size, chunkSectors, raidDisks, dataOffset, maxDev, degraded } = shape;
  const now = Math.floor(Date.now() / 1000);
  const name = opts.name && opts.name.includes(':') ? opts.name : `${hostname().split('.')[0]}:${opts.name ?? '0'}`;
  return {
    minorVersion: minor,
    // The kernel records MULTIPLE_PPLS for an area this large (super_1_sync), as the running array does.
    featureMap: ppl ? (isMultiplePpl(PPL_AREA_SECTORS) ? Feature.MultiplePpls : Feature.Ppl) : bitmap ? Feature.BitmapOffset : 0,
    setUuid: opts.uuid ?? new Uint8Array(randomBytes(16)),
    setName: name.slice(0, 31),
    ctime: now,
    ctimeUsec: 0,
    level: opts.level,
    layout,
    size,
    chunkSize: chunkSectors,
    raidDisks,
    bitmapOffset: ppl ? pplUnion(8, PPL_AREA_SECTORS) : (bitmap?.offset ?? 0),
    newLevel: 0,
    reshapePosition: 0,
    deltaDisks: 0,
    newLayout: 0,
    newChunk: 0,
    newOffset: 0,
    dataOffset,
    dataSize: 0,
    superOffset: superOffsetFor(minor, shape.memberSectors),
    recoveryOffset: 0,
    devNumber: 0,
    cntCorrectedRead: 0,
    deviceUuid: new Uint8Array(16),
    devflags: 0,
    bblogShift: 0,
    bblogSize: 0,
    bblogOffset: 0,
    utime: now,
    utimeUsec: 0,
    events: 0,
    resyncOffset: opts.assumeClean || degraded ? MAX_SECTOR : 0,
    maxDev,
    devRoles: new Array<number>(maxDev).fill(ROLE_SPARE),
    sbCsum: 0,
  };
}
