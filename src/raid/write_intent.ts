/**
 * md's internal write-intent bitmap kept while the array runs, by the rules of
 * drivers/md/md-bitmap.c (read for its behaviour; this is our own code):
 *
 * - before any data of a bitmap chunk is written, the chunk's bit is set and
 *   the bitmap page holding it is on every active member (the slots in the
 *   array, not spares), written with a flush before and after, as md's
 *   md_super_write (REQ_PREFLUSH | REQ_FUA) does;
 * - when the writes of a chunk have drained, the chunk waits two passes of
 *   the bitmap daemon (every daemon_sleep seconds; md's counter 2 -> 1 -> 0)
 *   and its bit is then cleared — unless a write of it was degraded (a slot
 *   could not be written), which marks it NEEDED: kept until a resync or
 *   recovery covers it with no slot missing;
 * - events_cleared becomes the array's events whenever a write completes on a
 *   non-degraded array (md_bitmap_endwrite), and is written with the bitmap
 *   header before any bit it allows clearing;
 * - the header's events follow the superblocks' (md_bitmap_update_sb runs
 *   before every superblock write), so a header behind them is stale, and a
 *   stale bitmap means every chunk is dirty (md_bitmap_read_sb / init_from_disk);
 * - at load, a set bit is NEEDED when its chunk ends past the resync offset
 *   (all set bits when the array is degraded and events_cleared is behind):
 *   md_bitmap_load's `start`.
 */
import { BITMAP_MAJOR_CLUSTERED, BITMAP_SUPER_SIZE, BitmapState, bitIsSet, decodeBitmapSuper, setBit, encodeBitmapSuper, type BitmapSuper } from './bitmap.js';
import { ArrayFailedError, AssemblyError, SuperblockError, UnsupportedFeatureError } from './errors.js';
import type { Layout } from './layout.js';
import type { MemberDevice, MemberTable } from './member_table.js';
import { SECTOR, type Superblock } from './superblock.js';

/** md's bitmap file pages: the unit it writes, counted from the bitmap header. */
const PAGE = 4096;
/** md: write-behind counts above COUNTER_MAX are refused. */
const COUNTER_MAX = 16383;

export interface WriteIntentEnv {
  readonly table: MemberTable;
  /** A bitmap write failed on `dev`: fail it, as a failed superblock write does. */
  onWriteError(dev: MemberDevice, err: unknown): void;
  log(message: string): void;
  /** Milliseconds between daemon passes (default the header's daemon_sleep seconds). */
  readonly daemonMs?: number;
}

/** Bitmap chunks [first, last] a request covers. */
export interface ChunkRange {
  readonly first: number;
  readonly last: number;
}

/** Where the bitmap of `dev` starts, in bytes (bitmap_offset is signed sectors from the superblock). */
function bitmapStart(dev: MemberDevice, master: Superblock): number {
  return (dev.sb.superOffset + master.bitmapOffset) * SECTOR;
}

/** Bytes of header and bits, whole sectors. */
function imageBytes(chunks: number): number {
  return Math.ceil((BITMAP_SUPER_SIZE + Math.ceil(chunks / 8)) / SECTOR) * SECTOR;
}

export class WriteIntent {
  /** Member sectors per bit. */
  readonly chunkSectors: number;
  /** Bits (chunks) covering the member's used size. */
  readonly chunks: number;
  /** md's events_cleared: bits were last cleared at this event count. */
  eventsCleared: number;
  private readonly header: BitmapSuper;
  /** Header and bits as they belong on disk. */
  private readonly image: Uint8Array;
  /** Bits known set on every active member, with no write pending that clears them. */
  private readonly durable: Uint8Array;
  /** Writes in flight per chunk. */
  private readonly busy = new Map<number, number>();
  /** Chunks that must be resynced or recovered before their bit may clear. */
  private readonly needed = new Set<number>();
  /** Set, quiet chunks: daemon passes left before the bit is cleared. */
  private readonly idle = new Map<number, 1 | 2>();
  private readonly dirtyPages = new Set<number>();
  private needSync = false;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * @param onDisk header and bits as read from a member (or to be written at creation)
   * @param stale the header is behind the superblocks or marked stale: every chunk is dirty
   */
  constructor(private readonly env: WriteIntentEnv, header: BitmapSuper, onDisk: Uint8Array, stale: boolean) {
    const m = env.table.master;
    this.header = { ...header, state: header.state & ~(BitmapState.Stale | BitmapState.WriteError) };
    this.chunkSectors = header.chunkSize / SECTOR;
    this.chunks = Math.ceil(m.size / this.chunkSectors);
    this.image = new Uint8Array(imageBytes(this.chunks));
    this.image.set(onDisk.subarray(0, this.image.length));
    this.durable = this.image.slice();
    this.eventsCleared = header.eventsCleared;
    const bits = this.bits();
    if (stale) {
      this.eventsCleared = m.events;
      for (let c = 0; c < this.chunks; c++) this.markSet(c);
    }
    // md_bitmap_load: dirty bits matter below the resync point only while a re-add may need them.
    const start = env.table.degradedCount() === 0 || this.eventsCleared === m.events ? m.resyncOffset : 0;
    for (let c = 0; c < this.chunks; c++) {
      if (!bitIsSet(bits, c)) continue;
      if ((c + 1) * this.chunkSectors >= start) this.needed.add(c);
      else this.idle.set(c, 2);
    }
    this.schedule();
  }

  private bits(): Uint8Array {
    return this.image.subarray(BITMAP_SUPER_SIZE);
  }

  private markSet(c: number): void {
    if (bitIsSet(this.bits(), c)) return;
    setBit(this.bits(), c, true);
    this.dirtyPages.add(Math.floor((BITMAP_SUPER_SIZE + (c >> 3)) / PAGE));
  }

  private durableBit(c: number): boolean {
    return bitIsSet(this.durable.subarray(BITMAP_SUPER_SIZE), c);
  }

  /** Set bits of the bitmap as it is meant to be on disk now. */
  dirtyCount(): number {
    let n = 0;
    for (let c = 0; c < this.chunks; c++) if (bitIsSet(this.bits(), c)) n++;
    return n;
  }

  /** Whether chunk `c` waits for a resync or recovery. */
  isNeeded(c: number): boolean {
    return this.needed.has(c);
  }

  /** True when any chunk covering member sectors [lo, hi) needs syncing. */
  neededIn(lo: number, hi: number): boolean {
    if (this.needed.size === 0) return false;
    for (let c = Math.floor(lo / this.chunkSectors); c * this.chunkSectors < hi; c++) if (this.needed.has(c)) return true;
    return false;
  }

  /** The chunks a write of array bytes [offset, offset+length) touches on any member. */
  chunksFor(layout: Layout, offset: number, length: number): ChunkRange | null {
    if (length <= 0) return null;
    const [lo, hi] = memberSpan(layout, offset, length);
    return { first: Math.floor(lo / this.chunkSectors), last: Math.floor((hi - 1) / this.chunkSectors) };
  }

  /**
   * md_bitmap_startwrite + unplug: counts the write in and, when a bit of the
   * range is not yet on every active member, sets it and waits for it to be written.
   * @throws ArrayFailedError when no member took the bitmap write.
   */
  async startWrite(r: ChunkRange): Promise<void> {
    let missing = false;
    for (let c = r.first; c <= r.last; c++) {
      this.busy.set(c, (this.busy.get(c) ?? 0) + 1);
      this.idle.delete(c);
      this.markSet(c);
      if (!this.durableBit(c)) missing = true;
    }
    for (let round = 0; missing && round < 3; round++) {
      await this.flush();
      missing = false;
      for (let c = r.first; c <= r.last && !missing; c++) missing = !this.durableBit(c);
    }
    if (missing) throw new ArrayFailedError('the write-intent bitmap could not be written to any member');
  }

  /**
   * md_bitmap_endwrite: counts the write out. `success` means every slot took
   * it (not degraded); otherwise its chunks are kept for recovery.
   */
  endWrite(r: ChunkRange, success: boolean): void {
    const m = this.env.table.master;
    if (success && this.env.table.degradedCount() === 0 && this.eventsCleared < m.events) {
      this.eventsCleared = m.events;
      this.needSync = true;
    }
    for (let c = r.first; c <= r.last; c++) {
      if (!success) this.needed.add(c);
      const n = (this.busy.get(c) ?? 1) - 1;
      if (n > 0) {
        this.busy.set(c, n);
        continue;
      }
      this.busy.delete(c);
      if (!this.needed.has(c)) this.idle.set(c, 2);
    }
    this.schedule();
  }

  /**
   * A resync or recovery made member sectors [lo, hi) consistent on every
   * slot: chunks wholly inside stop being needed and clear lazily
   * (md_bitmap_start_sync/end_sync when not still degraded).
   */
  markSynced(lo: number, hi: number): void {
    const size = this.env.table.master.size;
    for (let c = Math.ceil(lo / this.chunkSectors); c < this.chunks && Math.min((c + 1) * this.chunkSectors, size) <= hi; c++) {
      if (!this.needed.delete(c)) continue;
      if (!this.busy.has(c)) this.idle.set(c, 2);
    }
    this.schedule();
  }

  /**
   * One run of md's bitmap daemon (the timer runs it every daemon_sleep):
   * quiet chunks age one step, those aged twice have their bit cleared, and
   * what changed is written (the header first when events_cleared moved).
   */
  async daemonPass(): Promise<void> {
    if (this.needSync) {
      this.needSync = false;
      this.dirtyPages.add(0);
    }
    for (const [c, stage] of this.idle) {
      if (stage === 2) {
        this.idle.set(c, 1);
        continue;
      }
      this.idle.delete(c);
      setBit(this.bits(), c, false);
      setBit(this.durable.subarray(BITMAP_SUPER_SIZE), c, false);
      this.dirtyPages.add(Math.floor((BITMAP_SUPER_SIZE + (c >> 3)) / PAGE));
    }
    if (this.dirtyPages.size) await this.flush();
  }

  /** The header with the superblocks' events, before they are written (md_bitmap_update_sb). Never throws. */
  async writeHeader(): Promise<void> {
    this.dirtyPages.add(0);
    await this.flush().catch((err: unknown) => this.env.log(`write-intent bitmap header not written: ${(err as Error).message}`));
  }

  /** Writes the whole bitmap to `dev` (a member joining a slot gets the current copy). */
  async writeAllTo(dev: MemberDevice): Promise<void> {
    const run = async () => {
      this.refreshHeader();
      await dev.member.write(this.image.slice(), bitmapStart(dev, this.env.table.master));
      await dev.member.sync();
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Writes every page to every active member (creation, or a stale bitmap made whole). */
  writeAll(): Promise<void> {
    for (let p = 0; p * PAGE < this.image.length; p++) this.dirtyPages.add(p);
    return this.flush();
  }

  /** md_bitmap_flush at stop: every quiet chunk's bit is cleared and written; the daemon stops. */
  async quiesce(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closed = true;
    await this.daemonPass();
    await this.daemonPass();
    await this.flush();
  }

  private schedule(): void {
    if (this.closed || this.timer || (this.idle.size === 0 && !this.needSync)) return;
    const ms = this.env.daemonMs ?? this.header.daemonSleep * 1000;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.daemonPass()
        .catch((err: unknown) => this.env.log(`write-intent bitmap daemon: ${(err as Error).message}`))
        .finally(() => this.schedule());
    }, ms);
    this.timer.unref();
  }

  private refreshHeader(): void {
    const m = this.env.table.master;
    // md_bitmap_update_sb: events follow the array's; events_cleared never runs ahead of them.
    if (m.events < this.eventsCleared) this.eventsCleared = m.events;
    const h: BitmapSuper = { ...this.header, events: m.events, eventsCleared: this.eventsCleared, syncSize: m.size };
    this.image.set(encodeBitmapSuper(h), 0);
  }

  /** Bitmap writes are serialised, each taking its snapshot when it starts. */
  private flush(): Promise<void> {
    const run = () => this.writeOut();
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** The slots that hold a copy: in the array and not faulty (md's next_active_rdev). */
  private targets(): MemberDevice[] {
    return this.env.table.slots.flatMap((s) => (s.device && (s.state === 'in_sync' || s.state === 'recovering') ? [s.device] : []));
  }

  private async writeOut(): Promise<void> {
    if (this.dirtyPages.size === 0) return;
    const pages = [...this.dirtyPages].sort((a, b) => a - b);
    this.dirtyPages.clear();
    this.refreshHeader();
    const snaps = pages.map((p) => ({ at: p * PAGE, bytes: this.image.slice(p * PAGE, Math.min(this.image.length, (p + 1) * PAGE)) }));
    const targets = this.targets();
    const master = this.env.table.master;
    // Flush before (earlier data durable before a bit that vouches for it is cleared) and after (bit durable before data).
    await Promise.allSettled(targets.map((d) => d.member.sync()));
    const results = await Promise.allSettled(
      targets.map(async (dev) => {
        for (const s of snaps) await dev.member.write(s.bytes, bitmapStart(dev, master) + s.at);
        await dev.member.sync();
      }),
    );
    let written = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') written++;
      else this.env.onWriteError(targets[i]!, r.reason);
    });
    if (targets.length > 0 && written === 0) throw new ArrayFailedError('the write-intent bitmap could not be written to any member');
    // A bit cleared since the snapshot stays not durable: a later write of it is queued behind this one.
    for (const s of snaps) for (let i = 0; i < s.bytes.length; i++) this.durable[s.at + i] = s.bytes[i]! & this.image[s.at + i]!;
  }
}

/** In-chunk byte range [lo, hi) that array-row bytes [p0, p1) touch on any member (conservative when two chunks' ranges do not meet). */
function rowSpan(cb: number, p0: number, p1: number): [number, number] {
  const k0 = Math.floor(p0 / cb);
  const k1 = Math.floor((p1 - 1) / cb);
  if (k0 === k1) return [p0 - k0 * cb, p1 - k0 * cb];
  return [0, cb];
}

/** Member sectors [lo, hi) (from data_offset) that array bytes [offset, offset+length) touch, data and parity. */
export function memberSpan(layout: Layout, offset: number, length: number): [number, number] {
  const cb = layout.chunkBytes;
  const rowBytes = cb * layout.dataDisks;
  const cs = layout.geometry.chunkSectors;
  const end = offset + length;
  const r0 = Math.floor(offset / rowBytes);
  const r1 = Math.floor((end - 1) / rowBytes);
  const first = rowSpan(cb, offset - r0 * rowBytes, r0 === r1 ? end - r0 * rowBytes : rowBytes);
  const last = r0 === r1 ? first : rowSpan(cb, 0, end - r1 * rowBytes);
  return [r0 * cs + Math.floor(first[0] / SECTOR), r1 * cs + Math.ceil(last[1] / SECTOR)];
}

/** Refuses a bitmap md would refuse, or one asynctx cannot keep; checks it lies clear of the data. */
function checkLoaded(h: BitmapSuper, dev: MemberDevice, master: Superblock, chunks: number): void {
  if (h.version === BITMAP_MAJOR_CLUSTERED || h.nodes > 0) {
    throw new UnsupportedFeatureError('array uses a clustered write-intent bitmap, which asynctx does not implement; nothing was written', ['clustered bitmap']);
  }
  if (h.writeBehind > COUNTER_MAX) throw new SuperblockError(`bitmap write-behind ${h.writeBehind} is out of range (0-${COUNTER_MAX})`);
  if (!h.uuid.every((b, i) => b === master.setUuid[i])) throw new SuperblockError('bitmap superblock uuid does not match the array');
  const start = dev.sb.superOffset + master.bitmapOffset;
  const end = start + imageBytes(chunks) / SECTOR;
  const sb = dev.sb;
  const clear = sb.minorVersion === 0 ? start >= sb.dataOffset + sb.dataSize && end <= sb.superOffset : start >= sb.superOffset + 2 && end <= sb.dataOffset;
  if (!clear) throw new SuperblockError(`the write-intent bitmap (sectors ${start}..${end}) overlaps the superblock or the data`);
}

async function readBitmapOf(env: WriteIntentEnv, dev: MemberDevice): Promise<WriteIntent> {
  const master = env.table.master;
  const head = new Uint8Array(BITMAP_SUPER_SIZE);
  await dev.member.read(head, bitmapStart(dev, master));
  const h = decodeBitmapSuper(head);
  const chunks = Math.ceil(master.size / (h.chunkSize / SECTOR));
  checkLoaded(h, dev, master, chunks);
  const onDisk = new Uint8Array(imageBytes(chunks));
  await dev.member.read(onDisk, bitmapStart(dev, master));
  const stale = h.events < master.events || (h.state & BitmapState.Stale) !== 0;
  if (stale) env.log(`write-intent bitmap is out of date (events ${h.events} < ${master.events}): every chunk will be resynced`);
  return new WriteIntent(env, h, onDisk, stale);
}

/**
 * Reads the bitmap from the first in-sync member that reads (md's read_sb_page).
 * @throws SuperblockError / UnsupportedFeatureError for a bitmap md or asynctx refuses; AssemblyError when none reads.
 */
export async function loadWriteIntent(env: WriteIntentEnv): Promise<WriteIntent> {
  let last: unknown = null;
  for (const s of env.table.slots) {
    if (s.state !== 'in_sync' || !s.device) continue;
    try {
      return await readBitmapOf(env, s.device);
    } catch (err) {
      if (err instanceof SuperblockError || err instanceof UnsupportedFeatureError) throw err;
      last = err;
    }
  }
  throw new AssemblyError(`no in-sync member's write-intent bitmap could be read${last ? `: ${(last as Error).message}` : ''}`);
}
