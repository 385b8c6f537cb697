/**
 * A running md RAID-4/5/6 array: byte-addressed reads and writes split into
 * stripe heads, member I/O with fault handling, the clean/dirty protocol, and
 * member management (fail, remove, add). Scrubs and rebuilds live in
 * resync.ts; assembly from members in assemble.ts; creation in create.ts.
 */
import { IoError } from '../errors.js';
import { ArrayFailedError, ArrayStateError, MemberIOError, RaidUsageError } from './errors.js';
import { handleRead, handleWrite, type StripeEnv } from './handle.js';
import { Layout, layoutName, parityDisks } from './layout.js';
import type { Member } from './member.js';
import { MemberIo } from './member_io.js';
import type { MemberQueueStats } from './member_queue.js';
import { MemberTable, newDeviceUuid, type MemberDevice, type RaidSlot } from './member_table.js';
import { reAddMember } from './re_add.js';
import type { WriteIntent, WriteIntentEnv } from './write_intent.js';
import type { RaidOps } from './ops.js';
import { hasPpl } from './ppl.js';
import { Ppl } from './ppl_write.js';
import { mendReadErrors } from './read_errors.js';
import { runJobs, stripeJobs } from './requests.js';
import { StripeCache } from './stripe.js';
import { encodeSuperblock, formatUuid, MAX_SECTOR, ROLE_SPARE, SECTOR, type Superblock } from './superblock.js';

export interface RaidArrayOptions {
  /** Where parity work runs: the module functions (default) or a client with engines. */
  readonly ops?: RaidOps;
  /** Refuse every write, superblocks included. */
  readonly readonly?: boolean;
  /** Stripe head width in bytes (default min(chunk, 512 KiB)). */
  readonly unit?: number;
  /** Stripe heads in the cache (default: about 64 MiB of buffers, 8..256). */
  readonly cacheStripes?: number;
  /** Idle time after the last write before the array is marked clean (md's safe_mode_delay; default 200 ms). */
  readonly cleanDelayMs?: number;
  /** Receives one line per event worth telling (member failed, resync started…). */
  readonly log?: (message: string) => void;
  /** Close the members on stop() (assembly from paths sets this). */
  readonly ownsMembers?: boolean;
  /** Close `ops` (a client made for this array) on stop(), after the last I/O. */
  readonly ownsOps?: boolean;
  /** Largest merged member request: consecutive stripes' I/O to one member goes out as one request up to this size (default DEFAULT_MERGE_BYTES, 1 MiB). */
  readonly mergeBytes?: number;
  /**
   * How stripes reach their members (default 'queue'): 'queue' issues member reads and writes
   * from the main thread through per-member queues that merge adjacent requests; 'chain'
   * submits them as steps of the stripe's async_tx chain, so an engine holding the members'
   * file descriptors runs reads, parity and writes with one doorbell, off the main thread.
   * 'queue' is the default because it measured faster on a 2-core machine with one worker
   * (docs/performance); 'chain' frees the main thread's I/O and is the path to more engines.
   */
  readonly memberIo?: 'chain' | 'queue';
  /** Milliseconds between passes of the write-intent bitmap daemon (md's daemon_sleep; default the bitmap's own, 5 s). */
  readonly bitmapDaemonMs?: number;
}

export class RaidArray {
  readonly layout: Layout;
  /** @internal */
  readonly table: MemberTable;
  /** @internal */
  readonly ops: RaidOps;
  /** @internal */
  readonly cache: StripeCache;
  readonly unit: number;
  readonly readonly: boolean;
  /** Member I/O errors seen (each also marked its member faulty). */
  readonly errors: MemberIOError[] = [];
  private warnedWriteHole = false;
  /** @internal Writes acknowledged since assembly. */
  writesDone = 0;
  /** @internal Set while parity is not known good (assembled dirty, or created without --assume-clean). */
  needsResync: boolean;
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private dirtying: Promise<void> | null = null;
  private cleanTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** @internal The internal write-intent bitmap being kept (null: none, or read-only). */
  intent: WriteIntent | null = null;
  /** Member I/O: per-member merging queues, and the members' bad-block lists kept around them. */
  private readonly io: MemberIo;
  /** @internal */
  readonly env: StripeEnv;
  /** @internal The partial parity log (RAID-5 with consistency policy ppl), when writes are logged (set by setConsistencyPolicy). */
  ppl: Ppl | null;

  constructor(
    table: MemberTable,
    private readonly opts: RaidArrayOptions = {},
  ) {
    const m = table.master;
    this.table = table;
    this.layout = new Layout({ level: m.level, raidDisks: m.raidDisks, layout: m.layout, chunkSectors: m.chunkSize });
    // assemble and create give the software path's when the caller gave none (ops.ts opsOrDefault).
    if (opts.ops === undefined) throw new RaidUsageError('RaidArray: no ops given');
    this.ops = opts.ops;
    this.readonly = opts.readonly ?? false;
    const chunk = this.layout.chunkBytes;
    // Wide heads mean fewer, larger member I/Os; parity work still covers only the bytes a request touches.
    const unit = opts.unit ?? Math.min(chunk, 512 * 1024);
    if (unit < SECTOR || chunk % unit !== 0 || unit % SECTOR !== 0) {
      throw new RaidUsageError(`stripe unit ${unit} must be a multiple of 512 that divides the chunk (${chunk})`);
    }
    this.unit = unit;
    const cap = opts.cacheStripes ?? Math.max(8, Math.min(256, Math.floor((64 << 20) / (unit * m.raidDisks))));
    this.cache = new StripeCache(m.raidDisks, unit, cap, this.ops);
    this.needsResync = m.resyncOffset !== MAX_SECTOR;
    const self = this;
    const io = new MemberIo(table, { mergeBytes: opts.mergeBytes, maxReadErrors: cap, fail: (d, e) => self.markFaulty(d, e) });
    this.io = io;
    this.env = {
      layout: this.layout,
      ops: this.ops,
      unit,
      readableSectors: (d) => table.readableSectors(d),
      writable: (d) => !self.readonly && table.writable(d),
      io: (d, write, buf, pos, durable) => io.io(d, write, buf, pos, durable),
      canFua: (d) => typeof table.slots[d]?.device?.member.writeFua === 'function',
      failedCount: () => table.failedCount(),
      badRanges: (d, pos, len) => io.badRanges(d, pos, len),
      recordBad: (d, pos, len) => !self.readonly && io.recordBad(d, pos, len),
      ...(opts.memberIo !== 'chain'
        ? {}
        : {
            target: (d: number) => io.target(d),
            transferFailed: (d: number, err: Error) => {
              // The member's own error is the cause, as on the queued path; the IoError only carried it.
              const cause = err instanceof IoError && err.cause instanceof Error ? err.cause : err;
              const name = table.slots[d]?.device?.member.name ?? '?';
              self.markFaulty(d, new MemberIOError(`I/O error on member ${d} (${name}): ${cause.message}`, d, { cause }));
            },
          }),
    };
    this.ppl = hasPpl(m) && m.level === 5 && !this.readonly ? new Ppl(this) : null;
  }

  get geometry() {
    return this.layout.geometry;
  }
  /** Used sectors of each member (md's dev_sectors). */
  get componentSectors(): number {
    return this.table.master.size;
  }
  /** Array capacity in bytes. */
  get size(): number {
    return this.table.master.size * SECTOR * this.layout.dataDisks;
  }
  get uuid(): string {
    return formatUuid(this.table.master.setUuid);
  }
  get name(): string {
    return this.table.master.setName;
  }
  get events(): number {
    return this.table.master.events;
  }
  get slots(): readonly RaidSlot[] {
    return this.table.slots;
  }
  get levelName(): string {
    return `raid${this.geometry.level}`;
  }
  get layoutName(): string {
    return layoutName(this.geometry.level, this.geometry.layout);
  }
  /** Marked dirty in the superblocks (writes may be in flight). */
  get dirty(): boolean {
    return this.table.master.resyncOffset !== MAX_SECTOR;
  }

  /** @internal */
  log(message: string): void {
    this.opts.log?.(message);
  }

  /** Member requests submitted by stripes, and issued after merging, since assembly (all members). */
  ioStats(): MemberQueueStats {
    return this.io.stats();
  }

  /**
   * After a request: ranges that failed a read are rewritten from parity (read_errors.ts), and
   * bad blocks recorded meanwhile reach the members' logs before the request completes (md
   * holds a write until its bad blocks are acknowledged). Whole-array passes call it per batch.
   * @internal
   */
  async settleBadBlocks(): Promise<void> {
    if (this.io.readErrors.length) await mendReadErrors(this, this.io);
    if (!this.readonly && this.io.unacked()) await this.updateSuperblocks();
  }

  /** @internal md_error on request of the I/O path: marks slot `d` faulty for `why`. */
  failSlot(d: number, why: string): void {
    this.markFaulty(d, new MemberIOError(`member ${d} failed: ${why}`, d));
  }

  /** @internal Marks slot `d` faulty (md_error): the array goes on degraded and the superblocks record it. */
  markFaulty(d: number, reason: MemberIOError): void {
    const slot = this.table.slots[d]!;
    if (slot.state === 'faulty' || slot.state === 'missing') return;
    slot.state = 'faulty';
    this.errors.push(reason);
    this.log(`member ${d} (${slot.device?.member.name}) marked faulty: ${reason.message}`);
    if (!this.readonly) void this.updateSuperblocks().catch(() => undefined);
  }

  /** A metadata write (superblock or bitmap) failed on `dev`: md fails the device. */
  private metadataWriteFailed(dev: MemberDevice, what: string, err: unknown): void {
    const slot = this.table.slots.findIndex((s) => s.device === dev);
    if (slot >= 0) this.markFaulty(slot, new MemberIOError(`${what} write failed on ${dev.member.name}: ${(err as Error).message}`, slot, { cause: err }));
  }

  /** @internal Rewrites every live superblock (events + 1) after `change`; no-op when read-only. */
  updateSuperblocks(change: (m: Superblock) => void = () => undefined): Promise<void> {
    if (this.readonly) return Promise.resolve();
    return this.table.update(change, (dev, err) => this.metadataWriteFailed(dev, 'superblock', err));
  }

  /**
   * Keeps the internal write-intent bitmap from now on (assembly and creation
   * call this); `make` builds it for this array — loadWriteIntent reads it
   * from the members. Its header is then written before every superblock update.
   * A read-only array keeps none.
   * @internal the package's own (not part of asynctx/raid's surface)
   */
  async keepBitmap(make: (env: WriteIntentEnv) => WriteIntent | Promise<WriteIntent>): Promise<WriteIntent | null> {
    if (this.readonly) return null;
    const intent = await make({
      table: this.table,
      log: (m) => this.log(m),
      daemonMs: this.opts.bitmapDaemonMs,
      onWriteError: (dev, err) => this.metadataWriteFailed(dev, 'write-intent bitmap', err),
    });
    this.intent = intent;
    this.table.beforeSuperblocks = () => intent.writeHeader();
    return intent;
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RaidUsageError(`offset and length must be non-negative integers (got ${offset}, ${length})`);
    }
    if (offset + length > this.size) {
      throw new RaidUsageError(`range ${offset}+${length} reaches past the end of the array (${this.size} bytes)`);
    }
  }

  private checkUsable(): void {
    if (this.stopped) throw new ArrayStateError('the array was stopped');
    if (this.table.failedCount() > parityDisks(this.geometry.level)) {
      throw new ArrayFailedError(`${this.table.failedCount()} members failed: the array cannot serve I/O`);
    }
  }

  /**
   * Reads `length` bytes at array byte `offset` into `buf` (from `bufOffset`).
   * Data on failed members is rebuilt from parity.
   * @throws RaidUsageError (range), ArrayFailedError (too many members lost).
   */
  async read(buf: Uint8Array, offset: number, length = buf.length, bufOffset = 0): Promise<void> {
    this.checkRange(offset, length);
    this.checkUsable();
    const view = buf.subarray(bufOffset, bufOffset + length);
    try {
      if (length > 0 && (await this.readAligned(view, offset))) return;
      await runJobs(this.cache, stripeJobs(this.layout, this.unit, view, offset, length), (sh, ext) => handleRead(this.env, sh, ext));
    } finally {
      await this.settleBadBlocks();
    }
  }

  /**
   * md's chunk_aligned_read: a read inside one chunk whose member holds current bytes there goes
   * straight to that member, past the stripe cache (no head to wait for, no copy). False when
   * it cannot (the read crosses a chunk, the member is missing or not rebuilt that far) or the
   * member failed under it: the stripe path then serves it, rebuilding from parity.
   */
  private async readAligned(view: Uint8Array, offset: number): Promise<boolean> {
    const cb = this.layout.chunkBytes;
    if (Math.floor(offset / cb) !== Math.floor((offset + view.length - 1) / cb)) return false;
    const { disk, memberSector } = this.layout.mapSector(Math.floor(offset / SECTOR));
    const memberByte = memberSector * SECTOR + (offset % SECTOR);
    if (this.table.readableSectors(disk) * SECTOR < memberByte + view.length) return false;
    if (this.io.badRanges(disk, memberByte, view.length).length > 0) return false;
    try {
      await this.io.io(disk, false, view, memberByte);
      return true;
    } catch (err) {
      if (err instanceof MemberIOError) return false;
      throw err;
    }
  }

  /**
   * Writes `data` at array byte `offset`. Resolves once every member write of
   * it has completed (acknowledged). The array is marked dirty first.
   * @throws ArrayStateError (read-only or stopped), RaidUsageError, ArrayFailedError.
   */
  async write(data: Uint8Array, offset: number): Promise<void> {
    if (this.readonly) throw new ArrayStateError('the array is read-only');
    this.checkRange(offset, data.length);
    this.checkUsable();
    if (!this.warnedWriteHole && this.table.failedCount() > 0 && !this.ppl) {
      // md's answer is a PPL or a journal; without one, say it once per array.
      this.warnedWriteHole = true;
      this.log('writing to a degraded array without a write journal: a crash or power cut during this write can corrupt data on the missing members (the RAID write hole)');
    }
    this.inflight++;
    // md: the chunk's bitmap bit is on every member before its data (md_bitmap_startwrite); a write that
    // could not reach every slot keeps its bits for recovery (md_bitmap_endwrite's success).
    const intent = this.intent;
    const chunks = intent?.chunksFor(this.layout, offset, data.length) ?? null;
    const failedBefore = this.table.failedCount();
    let counted = false;
    let ok = false;
    try {
      await this.markDirty();
      if (chunks) {
        counted = true;
        await intent!.startWrite(chunks);
      }
      const ppl = this.ppl;
      try {
        await runJobs(this.cache, stripeJobs(this.layout, this.unit, data, offset, data.length), (sh, ext) =>
          ppl ? ppl.stripeWrite(this.env, sh, ext) : handleWrite(this.env, sh, ext),
        );
      } finally {
        await this.settleBadBlocks();
      }
      this.checkUsable();
      ok = true;
      this.writesDone++;
    } finally {
      if (counted) intent!.endWrite(chunks!, ok && failedBefore === 0 && this.table.failedCount() === 0);
      this.inflight--;
      if (this.inflight === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
        this.scheduleClean();
      }
    }
  }

  /** @internal md's "active" transition: resync_offset 0 on every member before the first write lands. */
  markDirty(): Promise<void> {
    if (this.cleanTimer) {
      clearTimeout(this.cleanTimer);
      this.cleanTimer = null;
    }
    if (this.dirty) return this.dirtying ?? Promise.resolve();
    this.dirtying = this.updateSuperblocks((m) => (m.resyncOffset = 0)).finally(() => (this.dirtying = null));
    return this.dirtying;
  }

  private scheduleClean(): void {
    if (this.readonly || this.stopped) return;
    const delay = this.opts.cleanDelayMs ?? 200;
    if (this.cleanTimer) clearTimeout(this.cleanTimer);
    this.cleanTimer = setTimeout(() => {
      this.cleanTimer = null;
      void this.markClean().catch(() => undefined);
    }, delay);
    this.cleanTimer.unref();
  }

  /** Waits for writes in flight to drain. */
  async drain(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    if (this.dirtying) await this.dirtying;
    await this.table.settled();
  }

  /**
   * Makes every write that completed before this call durable on every member
   * (fdatasync, or a disk's cache flush): the NBD FLUSH, `sync`'s promise. A
   * member whose flush fails is marked faulty, as a failed write would be.
   * @throws ArrayFailedError when too many members failed for the array to hold the data.
   */
  async flush(): Promise<void> {
    await this.table.settled();
    const live = this.table.slots.flatMap((s, d) => (s.device && s.state !== 'faulty' && s.state !== 'missing' ? [{ d, member: s.device.member }] : []));
    await Promise.all(
      live.map(({ d, member }) =>
        member.sync().catch((err: unknown) => {
          this.markFaulty(d, new MemberIOError(`flush failed on member ${d} (${member.name}): ${(err as Error).message}`, d, { cause: err }));
        }),
      ),
    );
    this.checkUsable();
  }

  /** @internal Marks the array clean once nothing is in flight and parity is trusted. */
  async markClean(): Promise<void> {
    await this.drain();
    if (this.inflight > 0 || !this.dirty || this.needsResync || this.readonly) return;
    await this.updateSuperblocks((m) => (m.resyncOffset = MAX_SECTOR));
  }

  /** Marks member `slot` faulty on request (mdadm --fail). */
  async fail(slot: number): Promise<void> {
    if (this.readonly) throw new ArrayStateError('the array is read-only');
    const s = this.table.slots[slot];
    if (!s || !s.device || s.state === 'faulty') throw new RaidUsageError(`slot ${slot} holds no working member`);
    await this.drain();
    this.markFaulty(slot, new MemberIOError(`member ${slot} failed on request`, slot));
    this.cache.invalidateAll();
    await this.table.settled();
  }

  /** Takes a faulty member out of its slot (mdadm --remove); the slot becomes missing. */
  async remove(slot: number): Promise<Member> {
    if (this.readonly) throw new ArrayStateError('the array is read-only');
    const s = this.table.slots[slot];
    if (!s || !s.device || (s.state !== 'faulty' && s.state !== 'recovering')) {
      throw new RaidUsageError(`slot ${slot} holds no faulty member to remove (fail it first)`);
    }
    const member = s.device.member;
    s.device = null;
    s.state = 'missing';
    await this.updateSuperblocks();
    return member;
  }

  /**
   * Adds `member` (no md superblock needed; it is overwritten): it takes the
   * first missing slot as a member being rebuilt (run rebuild()), else becomes
   * a spare. Its superblock is written with md's layout for its size.
   * `previous`, the member's own superblock if it has one, makes it a re-add
   * when it held a slot of this array that is empty now and the bitmap has not
   * been cleared since it left (its events >= events_cleared): it returns to
   * that slot and rebuild() recovers only the chunks the bitmap marks dirty.
   */
  async add(member: Member, previous?: Superblock | null): Promise<number> {
    if (this.readonly) throw new ArrayStateError('the array is read-only');
    if (previous) {
      const slot = await reAddMember(this, member, previous);
      if (slot >= 0) return slot;
    }
    const m = this.table.master;
    const ref = this.table.slots.find((s) => s.device)?.device?.sb ?? m;
    const devNumber = this.table.freeDevNumber();
    if (devNumber < 0) throw new RaidUsageError('no free device number in the superblock');
    const devSectors = Math.floor(member.size / SECTOR);
    if (devSectors < ref.dataOffset + m.size) {
      throw new RaidUsageError(`${member.name} is too small: ${devSectors} sectors, needs ${ref.dataOffset + m.size}`);
    }
    const sb: Superblock = { ...ref, devNumber, deviceUuid: newDeviceUuid(), dataSize: devSectors - ref.dataOffset, cntCorrectedRead: 0 };
    if (ref.minorVersion === 0) throw new RaidUsageError('adding to a 1.0 (metadata at end) array is not supported');
    const dev: MemberDevice = { member, sb };
    // An empty slot first; a faulty member is replaced only when no slot is empty.
    let slot = this.table.slots.findIndex((s) => s.state === 'missing');
    if (slot < 0) slot = this.table.slots.findIndex((s) => s.state === 'faulty');
    if (slot >= 0) {
      this.table.slots[slot] = { device: dev, state: 'recovering', recoveryOffset: 0 };
      this.cache.invalidateAll();
    } else {
      this.table.spares.push(dev);
    }
    // Write its superblock first so that the role recorded elsewhere never points at a blank device.
    const own = this.table.deviceSuperblock(dev, slot);
    own.events = m.events;
    await member.write(encodeSuperblock(own), own.superOffset * SECTOR);
    dev.sb = own;
    // A member in a slot holds a copy of the bitmap (spares do not, as in md).
    if (slot >= 0) await this.intent?.writeAllTo(dev);
    await this.updateSuperblocks();
    this.log(slot >= 0 ? `${member.name} added to slot ${slot}; rebuild needed` : `${member.name} added as a spare`);
    return slot;
  }

  /** @internal Puts a spare into a missing slot (recovery starts from 0). Returns the slot, or -1. */
  activateSpare(): number {
    const slot = this.table.slots.findIndex((s) => s.state === 'missing' || s.state === 'faulty');
    const spare = this.table.spares.shift();
    if (slot < 0 || !spare) {
      if (spare) this.table.spares.unshift(spare);
      return -1;
    }
    this.table.slots[slot] = { device: spare, state: 'recovering', recoveryOffset: 0 };
    this.cache.invalidateAll();
    return slot;
  }

  /** Drains, marks clean when parity is trusted, and closes owned members. The array takes no more I/O. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.cleanTimer) clearTimeout(this.cleanTimer);
    this.cleanTimer = null;
    // md_bitmap_flush before the clean superblock: a clean stop of a whole array leaves no dirty bit.
    if (this.intent) {
      await this.drain();
      await this.intent.quiesce().catch((err: unknown) => this.log(`write-intent bitmap not flushed at stop: ${(err as Error).message}`));
    }
    await this.markClean();
    this.stopped = true;
    await this.table.settled();
    this.cache.dispose();
    if (this.opts.ownsMembers) {
      const all = [...this.table.slots.map((s) => s.device), ...this.table.spares].filter((d): d is MemberDevice => d !== null);
      await Promise.all(all.map((d) => d.member.close().catch(() => undefined)));
    }
    if (this.opts.ownsOps) await this.ops.close?.();
  }
}

export { ROLE_SPARE };
