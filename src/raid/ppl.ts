/**
 * md's partial parity log on disk (include/uapi/linux/raid/md_p.h
 * `ppl_header`, `ppl_header_entry`; drivers/md/raid5-ppl.c): the 4 KiB
 * header, its entries, the checksums, where a member keeps its log (the
 * superblock's `ppl` union, at the bitmap_offset position), and how the
 * newest header is found in an area that holds several (MULTIPLE_PPLS).
 *
 * Header (little-endian): 512 reserved bytes of 0xff, signature (u32, the
 * crc32c of the array uuid), padding (u32, 0), generation (u64), entry count
 * (u32), checksum (u32: crc32c of the 4 KiB header with this field 0), then up
 * to 148 entries of 24 bytes: data_sector (u64, first array sector of the
 * logged data), pp_size (u32, bytes of partial parity), data_size (u32, bytes
 * of data), parity_disk (u32), checksum (u32, crc32c of the entry's partial
 * parity). The partial parity of the entries follows the header, in order.
 */
import { SuperblockError } from './errors.js';
import { Feature, SECTOR, type Superblock } from './superblock.js';

export const PPL_HEADER_SIZE = 4096;
export const PPL_HDR_RESERVED = 512;
const ENTRY_BYTES = 24;
const ENTRIES_AT = PPL_HDR_RESERVED + 24;
/** Entries one header holds (md's PPL_HDR_MAX_ENTRIES). */
export const PPL_HDR_MAX_ENTRIES = Math.floor((PPL_HEADER_SIZE - ENTRIES_AT) / ENTRY_BYTES);
/** Partial parity one log write carries when the area holds several (md's PPL_SPACE_SIZE). */
export const PPL_SPACE_SIZE = 128 * 1024;
/** The PPL area mdadm reserves at create (MULTIPLE_PPL_AREA_SIZE_SUPER1), in sectors. */
export const PPL_AREA_SECTORS = (1024 * 1024) / SECTOR;

/** One logged range: consecutive data chunks of one stripe row, and their partial parity. */
export interface PplEntry {
  /** First array sector of the logged data (512-byte sectors: md's block size for native metadata). */
  readonly dataSector: number;
  /** Bytes of partial parity (0 for a full-stripe write). */
  readonly ppSize: number;
  /** Bytes of data the entry covers (data members × strip). */
  readonly dataSize: number;
  /** The member holding this row's parity (the log's own member). */
  readonly parityDisk: number;
  /** crc32c of the entry's partial parity. */
  readonly checksum: number;
}

export interface PplHeader {
  readonly signature: number;
  readonly generation: number;
  readonly entries: readonly PplEntry[];
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  // Slicing by four: t[256·j + b] is the crc of byte b followed by j zero bytes.
  for (let i = 0; i < 256; i++) for (let j = 1; j < 4; j++) t[256 * j + i] = (t[256 * (j - 1) + i]! >>> 8) ^ t[t[256 * (j - 1) + i]! & 0xff]!;
  return t;
})();

/**
 * CRC-32C (Castagnoli), the checksum md's PPL uses: `crc32c(b)` is the
 * standard value (~crc32c_le(~0, b) in the kernel); pass the previous result
 * as `crc` to continue over more bytes.
 */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  const t = CRC_TABLE;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  for (; i + 4 <= n; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The signature md writes in every header of an array with native metadata: crc32c of the set uuid. */
export function pplSignature(setUuid: Uint8Array): number {
  return crc32c(setUuid.subarray(0, 16));
}

/**
 * Encodes a header into a fresh 4 KiB block, checksum included.
 * @throws SuperblockError for more entries than a header holds or fields out of range.
 */
export function encodePplHeader(h: PplHeader): Uint8Array {
  if (h.entries.length > PPL_HDR_MAX_ENTRIES) throw new SuperblockError(`a PPL header holds at most ${PPL_HDR_MAX_ENTRIES} entries, not ${h.entries.length}`);
  const b = new Uint8Array(PPL_HEADER_SIZE);
  const v = new DataView(b.buffer);
  b.fill(0xff, 0, PPL_HDR_RESERVED);
  v.setUint32(PPL_HDR_RESERVED, h.signature >>> 0, true);
  v.setBigUint64(PPL_HDR_RESERVED + 8, BigInt(h.generation), true);
  v.setUint32(PPL_HDR_RESERVED + 16, h.entries.length, true);
  h.entries.forEach((e, i) => {
    const at = ENTRIES_AT + i * ENTRY_BYTES;
    if (!Number.isSafeInteger(e.dataSector) || e.dataSector < 0) throw new SuperblockError(`PPL entry data_sector ${e.dataSector} is out of range`);
    v.setBigUint64(at, BigInt(e.dataSector), true);
    v.setUint32(at + 8, e.ppSize, true);
    v.setUint32(at + 12, e.dataSize, true);
    v.setUint32(at + 16, e.parityDisk, true);
    v.setUint32(at + 20, e.checksum >>> 0, true);
  });
  v.setUint32(PPL_HDR_RESERVED + 20, crc32c(b), true);
  return b;
}

/**
 * Decodes a 4 KiB header. A header md would not use (checksum, signature,
 * entry count) is reported, not thrown: recovery skips it as md does.
 * @returns the header, or `problem` saying why it is not a valid one.
 */
export function decodePplHeader(bytes: Uint8Array, signature: number): { header: PplHeader | null; problem: string | null } {
  if (bytes.length < PPL_HEADER_SIZE) return { header: null, problem: 'PPL header read was short' };
  const b = bytes.slice(0, PPL_HEADER_SIZE);
  const v = new DataView(b.buffer);
  const stored = v.getUint32(PPL_HDR_RESERVED + 20, true);
  v.setUint32(PPL_HDR_RESERVED + 20, 0, true);
  const computed = crc32c(b);
  if (stored !== computed) return { header: null, problem: `PPL header checksum mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)})` };
  const sig = v.getUint32(PPL_HDR_RESERVED, true);
  if (sig !== signature >>> 0) return { header: null, problem: `PPL header signature ${sig.toString(16)} is not the array's (${(signature >>> 0).toString(16)})` };
  const count = v.getUint32(PPL_HDR_RESERVED + 16, true);
  if (count > PPL_HDR_MAX_ENTRIES) return { header: null, problem: `PPL header claims ${count} entries (at most ${PPL_HDR_MAX_ENTRIES})` };
  const gen = v.getBigUint64(PPL_HDR_RESERVED + 8, true);
  if (gen > BigInt(Number.MAX_SAFE_INTEGER)) return { header: null, problem: `PPL header generation ${gen} is out of range` };
  const entries: PplEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = ENTRIES_AT + i * ENTRY_BYTES;
    const ds = v.getBigUint64(at, true);
    if (ds > BigInt(Number.MAX_SAFE_INTEGER)) return { header: null, problem: `PPL entry ${i} data_sector ${ds} is out of range` };
    entries.push({
      dataSector: Number(ds),
      ppSize: v.getUint32(at + 8, true),
      dataSize: v.getUint32(at + 12, true),
      parityDisk: v.getUint32(at + 16, true),
      checksum: v.getUint32(at + 20, true),
    });
  }
  return { header: { signature: sig, generation: Number(gen), entries }, problem: null };
}

/** Where a member keeps its log, from its superblock, in sectors. */
export interface PplArea {
  /** Sectors from the superblock (signed). */
  readonly offset: number;
  readonly size: number;
  /** First sector of the area on the member (superblock sector + offset). */
  readonly sector: number;
}

/** True when the superblock records a PPL (MD_FEATURE_PPL or MD_FEATURE_MULTIPLE_PPLS). */
export function hasPpl(sb: Pick<Superblock, 'featureMap'>): boolean {
  return (sb.featureMap & (Feature.Ppl | Feature.MultiplePpls)) !== 0;
}

/** The superblock's ppl union (s16 offset, u16 size), which shares its 4 bytes with bitmap_offset. */
export function pplArea(sb: Superblock): PplArea | null {
  if (!hasPpl(sb)) return null;
  const offset = (sb.bitmapOffset << 16) >> 16;
  const size = (sb.bitmapOffset >>> 16) & 0xffff;
  return { offset, size, sector: sb.superOffset + offset };
}

/** The bitmap_offset value that encodes a ppl union of `offset` (s16) and `size` (u16) sectors. */
export function pplUnion(offset: number, size: number): number {
  if (!Number.isInteger(offset) || offset < -32768 || offset > 32767 || !Number.isInteger(size) || size < 0 || size > 0xffff) {
    throw new SuperblockError(`PPL offset ${offset} / size ${size} do not fit the superblock's ppl field`);
  }
  return ((size << 16) | (offset & 0xffff)) | 0;
}

/**
 * The checks md applies to a PPL superblock (super_1_validate,
 * ppl_validate_rdev): not with a bitmap or a journal, not both PPL bits, room
 * for a header and one stripe of partial parity, clear of the data and the
 * superblock. Returns the area with its size rounded down as md rounds it.
 * @throws SuperblockError naming what md would refuse.
 */
export function validatePplArea(sb: Superblock, deviceSectors: number): PplArea {
  const f = sb.featureMap;
  if (f & (Feature.BitmapOffset | Feature.Journal)) throw new SuperblockError('superblock records a PPL together with a bitmap or a journal (md refuses it)');
  if ((f & Feature.Ppl) && (f & Feature.MultiplePpls)) throw new SuperblockError('superblock sets both PPL and MULTIPLE_PPLS (md refuses it)');
  const a = pplArea(sb)!;
  const dataSectors = Math.floor((a.size - PPL_HEADER_SIZE / SECTOR) / 8) * 8;
  if (dataSectors <= 0) throw new SuperblockError(`PPL area of ${a.size} sectors is too small`);
  const size = dataSectors + PPL_HEADER_SIZE / SECTOR;
  const end = a.sector + size;
  const dataEnd = sb.dataOffset + sb.dataSize;
  if (a.sector < 0 || end > deviceSectors || (a.sector < dataEnd && end > sb.dataOffset)) {
    throw new SuperblockError(`PPL area (sectors ${a.sector}..${end}) overlaps the data or leaves the member`);
  }
  const sbSectors = Math.ceil((256 + 2 * sb.maxDev) / SECTOR);
  if ((a.offset > 0 && a.offset < sbSectors) || (a.offset <= 0 && a.offset + size > 0)) {
    throw new SuperblockError(`PPL area (offset ${a.offset}, ${size} sectors) overlaps the superblock`);
  }
  return { offset: a.offset, size, sector: a.sector };
}

/** True when an area of `size` sectors holds several log writes (md's use_multippl). */
export function isMultiplePpl(size: number): boolean {
  return size * SECTOR >= (PPL_SPACE_SIZE + PPL_HEADER_SIZE) * 2;
}

/** Bytes of partial parity one log write may carry in an area of `size` sectors. */
export function pplEntrySpace(size: number): number {
  return isMultiplePpl(size) ? PPL_SPACE_SIZE : size * SECTOR - PPL_HEADER_SIZE;
}

/** The newest valid header of an area and where it sits (sectors into the area). */
export interface FoundHeader {
  readonly header: PplHeader;
  readonly at: number;
}

/**
 * Finds the header recovery uses, as ppl_load_distributed does: from the
 * start of the area, header after header (each followed by its partial
 * parity), while the checksum and signature hold and the generation does not
 * go down; the last one read is the newest. `readHeader(at)` reads the 4 KiB
 * at `at` sectors into the area.
 * @returns the header, or null (with the reason) when the first is not valid.
 */
export async function findNewestHeader(
  readHeader: (at: number) => Promise<Uint8Array>,
  areaSectors: number,
  signature: number,
): Promise<{ found: FoundHeader | null; problem: string | null }> {
  let found: FoundHeader | null = null;
  let at = 0;
  while (at < areaSectors - PPL_HEADER_SIZE / SECTOR) {
    const { header, problem } = decodePplHeader(await readHeader(at), signature);
    if (!header) return { found, problem: found ? null : problem };
    if (found && found.header.generation > header.generation) break;
    found = { header, at };
    at += PPL_HEADER_SIZE / SECTOR + header.entries.reduce((n, e) => n + Math.floor(e.ppSize / SECTOR), 0);
  }
  return { found, problem: null };
}
