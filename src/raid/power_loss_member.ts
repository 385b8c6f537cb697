/**
 * A member with a volatile write cache, for power-loss tests: a write is
 * acknowledged as soon as it is in the cache, `sync()` (FLUSH) makes every
 * acknowledged write durable, and `powerCut()` returns what the platter holds
 * at that instant — each not-yet-durable write kept whole, dropped, or torn at
 * 512-byte sectors, chosen from a seed so any failure replays. `failAfterWrites`
 * makes it a disk that dies mid-run: from then on every I/O fails.
 */
import type { Member } from './member.js';
import { SECTOR } from './superblock.js';

/** What a power cut did to the writes still in the cache. */
export interface PowerCutReport {
  readonly kept: number;
  readonly dropped: number;
  readonly torn: number;
}

/** The same seed, the same power cut. */
export { seededRandom } from '../random.js';

interface CachedWrite {
  readonly position: number;
  readonly bytes: Uint8Array;
}

export class PowerLossMember implements Member {
  /** What survives a power cut. */
  private readonly durable: Uint8Array;
  /** Acknowledged writes not yet durable, in the order the disk accepted them. */
  private cache: CachedWrite[] = [];
  private dead = false;
  /** Writes still accepted before the disk fails (Infinity: it never does). */
  private writesLeft = Infinity;
  syncs = 0;

  /** REQ_FUA: durable on completion; absent on a disk built with `fua: false`, whose callers write, then flush. */
  readonly writeFua?: (buf: Uint8Array, position: number) => Promise<void>;

  constructor(
    readonly name: string,
    sizeOrImage: number | Uint8Array,
    opts: { fua?: boolean } = {},
  ) {
    this.durable = typeof sizeOrImage === 'number' ? new Uint8Array(sizeOrImage) : sizeOrImage.slice();
    if (opts.fua !== false) this.writeFua = (buf, position) => this.fuaWrite(buf, position);
  }

  get size(): number {
    return this.durable.length;
  }

  /** Writes acknowledged but not yet durable. */
  get pendingWrites(): number {
    return this.cache.length;
  }

  /** The disk fails after `n` more writes: that write and all I/O after it get an I/O error. */
  failAfterWrites(n: number): void {
    this.writesLeft = n;
  }

  /** True once the disk has failed (failAfterWrites ran out). */
  get failed(): boolean {
    return this.writesLeft < 0;
  }

  private alive(op: string, position: number, length: number): void {
    if (this.dead) throw new Error(`${this.name}: ${op} after power loss`);
    if (this.failed) throw new Error(`${this.name}: ${op} failed: EIO (the disk failed)`);
    if (!Number.isSafeInteger(position) || position < 0 || position + length > this.durable.length) {
      throw new Error(`${op} past the end of ${this.name}`);
    }
  }

  async read(buf: Uint8Array, position: number): Promise<void> {
    await Promise.resolve();
    this.alive('read', position, buf.length);
    // The cache is newer than the platter: read through it, latest write last.
    buf.set(this.durable.subarray(position, position + buf.length));
    const end = position + buf.length;
    for (const w of this.cache) {
      const lo = Math.max(position, w.position);
      const hi = Math.min(end, w.position + w.bytes.length);
      if (lo < hi) buf.set(w.bytes.subarray(lo - w.position, hi - w.position), lo - position);
    }
  }

  async write(buf: Uint8Array, position: number): Promise<void> {
    await Promise.resolve();
    this.writesLeft--;
    this.alive('write', position, buf.length);
    this.cache.push({ position, bytes: buf.slice() });
  }

  /** The FUA write: older cached writes lose the sectors it covers (the disk keeps the newest). */
  private async fuaWrite(buf: Uint8Array, position: number): Promise<void> {
    await Promise.resolve();
    this.writesLeft--;
    this.alive('write', position, buf.length);
    const end = position + buf.length;
    this.cache = this.cache.flatMap((w) => {
      const wEnd = w.position + w.bytes.length;
      if (wEnd <= position || w.position >= end) return [w];
      const keep: CachedWrite[] = [];
      if (w.position < position) keep.push({ position: w.position, bytes: w.bytes.subarray(0, position - w.position) });
      if (wEnd > end) keep.push({ position: end, bytes: w.bytes.subarray(end - w.position) });
      return keep;
    });
    this.durable.set(buf, position);
  }

  async sync(): Promise<void> {
    await Promise.resolve();
    if (this.dead) throw new Error(`${this.name}: flush after power loss`);
    if (this.failed) throw new Error(`${this.name}: flush failed: EIO (the disk failed)`);
    for (const w of this.cache) this.durable.set(w.bytes, w.position);
    this.cache = [];
    this.syncs++;
  }

  async close(): Promise<void> {}

  /**
   * Cuts the power: the member takes no more I/O, and the returned image is
   * the durable bytes with each cached write kept, dropped or torn (a random
   * subset of its sectors reached the platter), drawn from `random`.
   */
  powerCut(random: () => number): { image: Uint8Array; report: PowerCutReport } {
    this.dead = true;
    const image = this.durable.slice();
    let kept = 0;
    let dropped = 0;
    let torn = 0;
    for (const w of this.cache) {
      const r = random();
      if (r < 1 / 3) {
        image.set(w.bytes, w.position);
        kept++;
      } else if (r < 2 / 3) {
        dropped++;
      } else {
        torn++;
        for (let s = 0; s < w.bytes.length; s += SECTOR) {
          if (random() < 0.5) image.set(w.bytes.subarray(s, s + SECTOR), w.position + s);
        }
      }
    }
    this.cache = [];
    return { image, report: { kept, dropped, torn } };
  }
}
