/**
 * A running md RAID-4/5/6 array: byte-addressed reads and writes split into
 * stripe heads, member I/O with fault handling, and member management (fail,
 * remove, add). Its parts: the options (array_options.ts), the stripe
 * handlers' view of the members (stripe_env.ts), reads that bypass the cache
 * (aligned_read.ts), the clean/dirty protocol (safe_mode.ts), adding a member
 * (add_member.ts, re_add.ts). Scrubs and rebuilds live in resync.ts; assembly
 * from members in assemble.ts; creation in create.ts.
 */
import { addNewMember } from './add_member.js';
import { readChunkAligned } from './aligned_read.js';
import type { RaidArrayOptions } from './array_options.js';
import { ArrayFailedError, ArrayStateError, MemberIOError, RaidUsageError } from './errors.js';
import { handleRead, handleWrite, type StripeEnv } from './handle.js';
import { Layout, layoutName, parityDisks } from './layout.js';
import type { Member } from './member.js';
import { MemberIo } from './member_io.js';
import type { MemberQueueStats } from './member_queue.js';
import { MemberTable, type MemberDevice, type RaidSlot } from './member_table.js';
import { reAddMember } from './re_add.js';
import type { WriteIntent, WriteIntentEnv } from './write_intent.js';
import type { RaidOps } from './ops.js';
import { hasPpl } from './ppl.js';
import { Ppl } from './ppl_write.js';
import { mendReadErrors } from './read_errors.js';
import { runJobs, stripeJobs } from './requests.js';
import { SafeMode } from './safe_mode.js';
import { StripeCache } from './stripe.js';
import { arrayStripeEnv } from './stripe_env.js';
import { formatUuid, MAX_SECTOR, ROLE_SPARE, SECTOR, type Superblock } from './superblock.js';

export type { RaidArrayOptions } from './array_options.js';

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
  /** The clean/dirty protocol, and the writes in flight it waits for. */
  private readonly safeMode: SafeMode;
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
    const markFaulty = (d: number, reason: MemberIOError): void => this.markFaulty(d, reason);
    this.io = new MemberIo(table, { mergeBytes: opts.mergeBytes, maxReadErrors: cap, fail: markFaulty });
    this.env = arrayStripeEnv({
      layout: this.layout,
      ops: this.ops,
      unit,
      table,
      io: this.io,
      readonly: this.readonly,
      memberIo: opts.memberIo,
      markFaulty,
    });
    this.safeMode = new SafeMode({
      cleanDelayMs: opts.cleanDelayMs ?? 200,
      readonly: this.readonly,
      stopped: () => this.stopped,
      needsResync: () => this.needsResync,
      dirty: () => this.dirty,
      writeResyncOffset: (offset) => this.updateSuperblocks((m) => (m.resyncOffset = offset)),
      settled: () => table.settled(),
    });
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
      if (length > 0 && (await readChunkAligned(this.layout, this.table, this.io, view, offset))) return;
      await runJobs(this.cache, stripeJobs(this.layout, this.unit, view, offset, length), (sh, ext) => handleRead(this.env, sh, ext));
    } finally {
      await this.settleBadBlocks();
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
    this.safeMode.writeStarted();
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
      this.safeMode.writeEnded();
    }
  }

  /** @internal md's "active" transition: resync_offset 0 on every member before the first write lands. */
  markDirty(): Promise<void> {
    return this.safeMode.markDirty();
  }

  /** Waits for writes in flight to drain. */
  drain(): Promise<void> {
    return this.safeMode.drain();
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
  markClean(): Promise<void> {
    return this.safeMode.markClean();
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
    return addNewMember(this, member);
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
    this.safeMode.cancelClean();
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
