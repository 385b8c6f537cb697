/**
 * The stripe cache (raid5.c's stripe_head and its hash/LRU), sized by a unit:
 * a stripe head covers `unit` bytes of every member at one member offset, all
 * inside one chunk row, so it has one P (and Q) member like md's 4 KiB heads,
 * just wider to keep the per-operation cost low.
 *
 * Rules:
 * - one holder per stripe head at a time: requests on the same stripe are
 *   serialised in arrival order; different stripes proceed in parallel;
 * - a bounded number of heads: past `capacity` a request waits until one is
 *   released (backpressure, not unbounded memory);
 * - released heads stay cached (least recently used first out) with the byte
 *   range of each member's buffer that matches the disk, so a later
 *   read-modify-write of the same stripe reads less.
 */
import { allocStripeBuffer, freeStripeBuffer, type RaidOps } from './ops.js';

/** A byte range [lo, hi) inside a unit. */
export interface Range {
  lo: number;
  hi: number;
}

export const EMPTY: Range = { lo: 0, hi: 0 };

export function covers(r: Range, lo: number, hi: number): boolean {
  return r.lo <= lo && r.hi >= hi && hi > lo;
}

/** The union of two ranges when they touch, else the newer one. */
export function merge(old: Range, lo: number, hi: number): Range {
  if (old.hi <= old.lo || old.hi < lo || hi < old.lo) return { lo, hi };
  return { lo: Math.min(old.lo, lo), hi: Math.max(old.hi, hi) };
}

export class StripeHead {
  /** Member sector (from data_offset) of the head's first byte. */
  sector = 0;
  /** Per member: the range of its buffer that holds the member's current bytes. */
  readonly valid: Range[];
  private readonly bufs: Array<Uint8Array | null>;
  busy = false;
  readonly waiters: Array<() => void> = [];

  constructor(
    readonly disks: number,
    readonly unit: number,
    private readonly ops: RaidOps,
  ) {
    this.valid = new Array<Range>(disks).fill(EMPTY);
    this.bufs = new Array<Uint8Array | null>(disks).fill(null);
  }

  /** The member's buffer, allocated on first use (a read-only head that reads straight into the caller's buffer never needs one). */
  buf(disk: number): Uint8Array {
    let b = this.bufs[disk];
    if (!b) {
      b = allocStripeBuffer(this.ops, this.unit);
      this.bufs[disk] = b;
    }
    return b;
  }

  invalidate(): void {
    this.valid.fill(EMPTY);
  }

  /** Gives the buffers back (arena blocks return to the arena); the head is empty afterwards. */
  dispose(): void {
    this.invalidate();
    this.bufs.forEach((b, d) => {
      if (b) freeStripeBuffer(this.ops, b);
      this.bufs[d] = null;
    });
  }
}

export interface StripeCacheStats {
  /** Heads in the cache (busy or idle). */
  heads: number;
  /** Times a request had to wait because every head was busy. */
  capacityWaits: number;
  /** Acquisitions that found the stripe already cached. */
  hits: number;
  misses: number;
}

export class StripeCache {
  private readonly heads = new Map<number, StripeHead>();
  /** Idle heads, least recently used first (Map keeps insertion order). */
  private readonly idle = new Map<number, StripeHead>();
  private readonly capacityWaiters: Array<() => void> = [];
  private readonly counters = { capacityWaits: 0, hits: 0, misses: 0 };

  constructor(
    readonly disks: number,
    readonly unit: number,
    readonly capacity: number,
    private readonly ops: RaidOps,
  ) {}

  /** Takes the head for member sector `sector` for exclusive use; waits for earlier holders and for room. */
  async acquire(sector: number): Promise<StripeHead> {
    for (;;) {
      const sh = this.heads.get(sector);
      if (sh) {
        this.counters.hits++;
        if (!sh.busy) {
          this.idle.delete(sector);
          sh.busy = true;
          return sh;
        }
        // The releasing holder hands the head over with busy still set.
        await new Promise<void>((r) => sh.waiters.push(r));
        return sh;
      }
      const fresh = this.take(sector);
      if (fresh) {
        this.counters.misses++;
        return fresh;
      }
      this.counters.capacityWaits++;
      await new Promise<void>((r) => this.capacityWaiters.push(r));
    }
  }

  /** A head for a new sector: a fresh one while under capacity, else the least recently used idle one. */
  private take(sector: number): StripeHead | null {
    let sh: StripeHead | undefined;
    if (this.heads.size < this.capacity) {
      sh = new StripeHead(this.disks, this.unit, this.ops);
    } else {
      const lru = this.idle.entries().next();
      if (lru.done) return null;
      const [oldSector, old] = lru.value;
      this.idle.delete(oldSector);
      this.heads.delete(oldSector);
      sh = old;
      sh.invalidate();
    }
    sh.sector = sector;
    sh.busy = true;
    this.heads.set(sector, sh);
    return sh;
  }

  /** Gives the head back: to the next request on the same stripe, else to the idle list. */
  release(sh: StripeHead): void {
    const next = sh.waiters.shift();
    if (next) {
      next();
      return;
    }
    sh.busy = false;
    this.idle.set(sh.sector, sh);
    this.capacityWaiters.shift()?.();
  }

  /** Forgets every cached byte (after a member changes state, or before a scrub that must read the disks). */
  invalidateAll(): void {
    for (const sh of this.heads.values()) sh.invalidate();
  }

  /** Frees every idle head's buffers (the array is stopping; busy heads cannot exist then). */
  dispose(): void {
    for (const sh of this.idle.values()) sh.dispose();
    this.idle.clear();
    for (const [sector, sh] of this.heads) if (!sh.busy) this.heads.delete(sector);
  }

  stats(): StripeCacheStats {
    return { heads: this.heads.size, ...this.counters };
  }
}
