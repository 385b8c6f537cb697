/**
 * One member's bad-block list in memory (md's struct badblocks, block/badblocks.c): sorted,
 * merged ranges of absolute member sectors, bounded by what the member's on-disk log holds.
 * Additions must reach the log before the I/O that caused them completes (md holds the write
 * until the superblock update acknowledges them); removals ride along with the next update.
 */
import { encodeBadBlocks, mergeBadBlocks, type BadBlock } from './badblocks.js';
import { Feature, SECTOR, type Superblock } from './superblock.js';

/** md keeps at most one page of entries in memory (MAX_BADBLOCKS = PAGE_SIZE / 8). */
const MAX_LOG_BYTES = 4096;

export class BadBlockSet {
  private list: BadBlock[];
  /** Changed since the log was last written. */
  changed = false;
  /** Entries added since the log was last written (md's unacknowledged bad blocks). */
  unacked = false;
  /** Bumped on every change, so a log write acknowledges only what it carried. */
  private version = 0;

  /**
   * @param shift log units are 2^shift sectors (bblog_shift)
   * @param logBytes bytes the on-disk log holds; 0: the member has no log (md disables bad blocks, shift -1)
   */
  constructor(list: readonly BadBlock[], readonly shift: number, readonly logBytes: number) {
    this.list = mergeBadBlocks(list);
  }

  /** The set for a device with superblock `sb`, holding `list` (read from its log). */
  static forSuperblock(sb: Superblock, list: readonly BadBlock[] = []): BadBlockSet {
    const bytes = sb.bblogSize > 0 && sb.bblogOffset !== 0 ? Math.min(sb.bblogSize * SECTOR, MAX_LOG_BYTES) : 0;
    return new BadBlockSet(list, sb.bblogShift, bytes);
  }

  get entries(): readonly BadBlock[] {
    return this.list;
  }

  get count(): number {
    return this.list.length;
  }

  /** The listed ranges overlapping [sector, sector+length), clipped to it. */
  within(sector: number, length: number): BadBlock[] {
    const end = sector + length;
    const out: BadBlock[] = [];
    for (const b of this.list) {
      if (b.sector >= end) break;
      const lo = Math.max(b.sector, sector);
      const hi = Math.min(b.sector + b.length, end);
      if (lo < hi) out.push({ sector: lo, length: hi - lo });
    }
    return out;
  }

  /** md's is_badblock: whether [sector, sector+length) touches a listed range. */
  has(sector: number, length: number): boolean {
    return this.list.length > 0 && this.within(sector, length).length > 0;
  }

  /**
   * md's badblocks_set: records [sector, sector+length), rounded outwards to log units.
   * @returns false, leaving the set as it was, when the member has no log or the log would
   * overflow (md's rdev_set_badblocks fails, and the caller fails the member)
   */
  add(sector: number, length: number): boolean {
    if (length <= 0) return true;
    if (this.logBytes === 0) return false;
    const unit = 2 ** this.shift;
    const lo = Math.floor(sector / unit) * unit;
    const hi = Math.ceil((sector + length) / unit) * unit;
    const next = mergeBadBlocks([...this.list, { sector: lo, length: hi - lo }]);
    if (encodeBadBlocks(next, this.shift, this.logBytes) === null) return false;
    if (next.length !== this.list.length || next.some((b, i) => b.sector !== this.list[i]!.sector || b.length !== this.list[i]!.length)) {
      this.list = next;
      this.changed = true;
      this.unacked = true;
      this.version++;
    }
    return true;
  }

  /**
   * md's badblocks_clear after a good write of [sector, sector+length): only whole log units
   * inside it are cleared (the range is rounded inwards). Returns whether anything was cleared.
   */
  clear(sector: number, length: number): boolean {
    const unit = 2 ** this.shift;
    const lo = Math.ceil(sector / unit) * unit;
    const hi = Math.floor((sector + length) / unit) * unit;
    if (hi <= lo || !this.has(lo, hi - lo)) return false;
    const out: BadBlock[] = [];
    for (const b of this.list) {
      const bEnd = b.sector + b.length;
      if (bEnd <= lo || b.sector >= hi) out.push(b);
      else {
        if (b.sector < lo) out.push({ sector: b.sector, length: lo - b.sector });
        if (bEnd > hi) out.push({ sector: hi, length: bEnd - hi });
      }
    }
    this.list = out;
    this.changed = true;
    this.version++;
    return true;
  }

  /** The feature bit a superblock of this device carries (md's super_1_sync sets it while the list has entries). */
  featureBit(): number {
    return this.list.length > 0 ? Feature.BadBlocks : 0;
  }

  /**
   * What an update writes now: the log's bytes (null when unchanged, or empty: md leaves the old
   * entries on disk then and clears the feature bit, which voids them) and the version they hold.
   */
  pendingLog(): { bytes: Uint8Array | null; version: number } {
    const bytes = this.changed && this.list.length > 0 ? encodeBadBlocks(this.list, this.shift, this.logBytes) : null;
    return { bytes, version: this.version };
  }

  /** The log of `version` is on disk (with the superblock that points at it): what it holds is acknowledged. */
  written(version: number): void {
    if (version !== this.version) return;
    this.changed = false;
    this.unacked = false;
  }
}
