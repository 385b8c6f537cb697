/**
 * Main side of one worker channel: writes descriptors into the ring, rings
 * the doorbell, and learns of completions through Atomics.waitAsync — no
 * postMessage per operation, no polling loop. Completes descriptors in
 * submission order, as dmaengine requires; the worker runs them in that order,
 * so a Fence is kept by construction.
 *
 * Ring discipline and memory ordering are in protocol.ts; the comments here
 * point to the rule each step relies on. The descriptor it keeps per slot, and
 * the errors a failed slot completes with, are in descriptor.ts.
 */
import type { Worker } from 'node:worker_threads';
import {
  Channel, DmaStatus, HwDescriptor, kernels, OperationError,
  type ChannelStats, type CompletionHandler, type Device, type HwOp, type Mapping, type MappingDomain,
} from '../../provider.js';
import { parentFailed, slotError, WorkerDescriptor } from './descriptor.js';
import { Encoded } from './encode.js';
import { MAX_BLOCKS, MAX_IO_TRANSFERS, RING_LAYOUT_VERSION } from './protocol.js';
import { MainRing } from './ring.js';
import { spawnWorker } from './thread.js';

/** Tuning of one channel. */
export interface WorkerChannelOptions {
  /** Ring slots, a power of two. */
  readonly capacity: number;
  /** Ring the doorbell by itself once this many descriptors wait unissued. */
  readonly batch: number;
  /** Wake the client once per this many completions (and whenever the ring drains). */
  readonly moderation: number;
  /** Also wake it when a completion leaves this many descriptors to run (refill in time); 0: off. */
  readonly lowWater: number;
  /** How long an idle worker polls before parking, µs (lower: less CPU; higher: faster round trips). */
  readonly spinUs: number;
}

/**
 * Counters of one channel (the provider API's ChannelStats): doorbells count
 * publications of the head to the worker, wakeups the times it had to be woken
 * from its park, ringFull the descriptors that waited in the overflow queue.
 */
export type WorkerChannelStats = ChannelStats;

/**
 * Where a channel is in its thread's life (the thread side has WorkerState).
 * It only moves forward: Running → Closing → Killing → Failed → Exited, any
 * step may be skipped.
 */
const Life = {
  /** Takes work. */
  Running: 0,
  /** close(): takes no new work; what was submitted is issued and drains, then the thread ends. */
  Closing: 1,
  /** kill() or close(true): the thread is being terminated; outstanding work fails once it is gone. */
  Killing: 2,
  /** The thread failed (it exits next): everything outstanding has failed. */
  Failed: 3,
  /** The thread has exited: everything outstanding has failed, nothing it ran can write memory. */
  Exited: 4,
} as const;
type Life = (typeof Life)[keyof typeof Life];

export class WorkerChannel extends Channel {
  readonly stats: WorkerChannelStats = { submitted: 0, completed: 0, doorbells: 0, wakeups: 0, notices: 0, ringFull: 0 };
  private readonly ring: MainRing;
  private readonly worker: Worker;
  /** The descriptor in each slot, by slot index. */
  private readonly slots: Array<WorkerDescriptor | undefined>;
  /** Descriptors waiting for a free slot; the first `overflowIssued` of them were issued. */
  private readonly overflow: WorkerDescriptor[] = [];
  private overflowIssued = 0;
  private life: Life = Life.Running;
  /** Killing: what outstanding work will fail with once the thread is gone. Failed, Exited: what it failed with. */
  private error: Error | null = null;
  /** The completion loop (not the life): a waitAsync on NOTIFY is outstanding, for published work. */
  private watching = false;
  /** Mirrors worker.ref()/unref(), so holdAlive calls them only on a change. */
  private referenced = false;
  private readonly exited: Promise<void>;
  private idleWaiters: Array<() => void> = [];

  constructor(
    device: Device,
    index: number,
    /** The mapping domain (the arena's) the channel maps blocks into. */
    override readonly domain: MappingDomain,
    scratch: Uint8Array,
    private readonly opts: WorkerChannelOptions,
    private readonly onFailure: (chan: WorkerChannel, error: Error) => void,
  ) {
    super(device, index);
    this.ring = new MainRing(opts.capacity, opts.moderation, opts.lowWater, opts.spinUs);
    this.slots = new Array<WorkerDescriptor | undefined>(opts.capacity);
    // Referenced only while published work is outstanding (holdAlive).
    this.worker = spawnWorker({
      version: RING_LAYOUT_VERSION,
      ring: this.ring.sab,
      memory: domain.arena.memory,
      scratch: { offset: scratch.byteOffset, bytes: scratch.length },
      kernels: Object.fromEntries(kernels().map((c) => [c.op, c.impl])),
      name: this.name,
    });
    this.worker.on('error', (err) => this.fail(new OperationError(`${this.name}: worker thread failed: ${err.message}`, { cause: err }), Life.Failed));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        const error = this.life === Life.Killing ? this.error! : new OperationError(`${this.name}: worker thread exited (code ${code}) with work outstanding`);
        // Only now can nothing the thread ran write memory: failing work frees its bounce blocks.
        this.fail(error, Life.Exited);
        resolve();
      });
    });
  }

  /** Why the channel stopped (its thread failed, was killed or exited), or null until then. */
  get failed(): Error | null {
    return this.down ? this.error : null;
  }

  /** The thread failed or exited: everything outstanding has failed. */
  private get down(): boolean {
    return this.life >= Life.Failed;
  }

  /** Every operation kind, while the thread runs, within the block-list limit. */
  accepts(op: HwOp): boolean {
    if (this.life !== Life.Running) return false;
    switch (op.kind) {
      case 'xor': return op.srcs.length + 1 <= MAX_BLOCKS;
      case 'xor_val': return op.srcs.length <= MAX_BLOCKS;
      case 'pq': case 'pq_val': case 'raid6_2data': case 'raid6_datap': return op.data.length + 2 <= MAX_BLOCKS;
      // I/O only when this thread can reach every target: through its file descriptor.
      case 'io_read': case 'io_write': return op.blocks.length <= MAX_IO_TRANSFERS && op.targets.every((t) => t.fd !== null);
      default: return true;
    }
  }

  /**
   * Prepares a descriptor: maps its blocks into the arena (bounce copies of
   * the blocks it reads happen here, after any parent completed). Returns
   * null when the channel cannot take it, or the arena has no room to bounce
   * it: the caller then falls back to the synchronous path.
   */
  override prepare(op: HwOp, onComplete: CompletionHandler): HwDescriptor | null {
    if (!this.accepts(op)) return null;
    const enc = new Encoded(op);
    let mapping: Mapping | null;
    try {
      mapping = this.domain.map(enc, op);
    } catch {
      return null;
    }
    return new WorkerDescriptor(op, this, onComplete, enc, mapping);
  }

  /**
   * Prepares `op` to run behind `parent`, an earlier descriptor of this channel not yet
   * complete: the thread runs it only if the parent completed (protocol.ts, S_AFTER), so a
   * chain's steps reach the thread together, with one doorbell and no round trip between
   * them. Only for steps whose every block the thread reaches in place: a bounce copy-in
   * made now would copy bytes the parent has not written yet.
   */
  override prepareAfter(op: HwOp, onComplete: CompletionHandler, parent: HwDescriptor): HwDescriptor | null {
    if (parent.channel !== this || parent.status !== DmaStatus.InProgress || !(parent instanceof WorkerDescriptor) || !this.accepts(op)) return null;
    const enc = new Encoded(op);
    for (let i = 0; i < enc.count; i++) {
      const b = enc.block(i);
      if (b !== null && !this.domain.reaches(b)) return null;
    }
    return new WorkerDescriptor(op, this, onComplete, enc, null, parent);
  }

  protected enqueue(desc: HwDescriptor): void {
    if (!(desc instanceof WorkerDescriptor) || desc.channel !== this) throw new TypeError(`${this.name}: descriptor was not prepared by this channel`);
    this.stats.submitted++;
    if (this.down) {
      queueMicrotask(() => this.finish(desc, DmaStatus.Error, 0, this.error!));
      return;
    }
    if (this.overflow.length === 0 && this.ring.hasRoom()) {
      this.write(desc);
    } else {
      this.stats.ringFull++;
      this.overflow.push(desc);
    }
    if (this.ring.unpublished >= this.opts.batch) this.publish();
  }

  issuePending(): void {
    this.overflowIssued = this.overflow.length;
    this.publish();
  }

  /** Writes a descriptor into the next slot. */
  private write(d: WorkerDescriptor): void {
    let after: number | null = null;
    if (d.after !== null) {
      // The parent was written first (the queue is in order); once reaped its outcome is known here.
      if (d.after.status === DmaStatus.InProgress) after = d.after.counter;
      else if (d.after.status === DmaStatus.Error) {
        queueMicrotask(() => this.finish(d, DmaStatus.Error, 0, parentFailed(this.name, d.op)));
        return;
      }
    }
    this.slots[this.ring.index(this.ring.written)] = d;
    d.counter = this.ring.write(d.enc, d.cookie, d.mapping?.offsets ?? null, after);
  }

  /** The doorbell: hands every written slot to the worker, then watches for its completions. */
  private publish(): void {
    if (this.ring.unpublished === 0 || this.down) return;
    // Snapshot NOTIFY before the worker can see new work, so the first completion of it cannot
    // be missed by the wait below (protocol.ts, "Completions").
    const seq = this.ring.noticeSeq();
    this.stats.doorbells++;
    if (this.ring.publish()) this.stats.wakeups++;
    if (!this.watching) this.watch(seq);
  }

  /** Waits for the next completion notice after `seq`; keeps the process alive meanwhile. */
  private watch(seq: number): void {
    this.watching = true;
    this.holdAlive();
    const w = this.ring.waitNotice(seq);
    if (w.async) void w.value.then(this.onNotice);
    else queueMicrotask(this.onNotice);
  }

  private readonly onNotice = (): void => {
    this.watching = false;
    if (this.down) return;
    this.stats.notices++;
    // Snapshot before reaping (protocol.ts, "Completions"): a completion we do not see below
    // bumps NOTIFY after this load, so the next wait returns at once.
    const seq = this.ring.noticeSeq();
    this.reap();
    this.refill();
    if (this.ring.published !== this.ring.reaped) this.watch(seq);
    else this.holdAlive();
  };

  /** Completes every slot the worker finished, in order. */
  private reap(): void {
    const ring = this.ring;
    const tail = ring.tail();
    while (ring.reaped !== tail) {
      const n = ring.reaped;
      const d = this.slots[ring.index(n)]!;
      this.slots[ring.index(n)] = undefined;
      ring.reaped = (n + 1) | 0;
      if (ring.ok(n)) {
        if (d.mapping !== null) this.domain.unmap(d.mapping);
        d.serviceNs = ring.serviceNs(n);
        this.finish(d, DmaStatus.Complete, ring.result(n));
      } else {
        this.finish(d, DmaStatus.Error, 0, slotError(ring, n, this.name, d.op));
      }
    }
  }

  /** Moves waiting descriptors into freed slots; publishes those already issued. */
  private refill(): void {
    let issued = false;
    while (this.overflow.length > 0 && this.ring.hasRoom()) {
      this.write(this.overflow.shift()!);
      if (this.overflowIssued > 0) {
        this.overflowIssued--;
        issued = true;
      }
    }
    if (issued) this.publish();
  }

  /** Completes a descriptor through the core, then frees its bounce blocks (unless a child carries them). */
  private finish(d: WorkerDescriptor, status: DmaStatus, result: number, error?: Error): void {
    this.stats.completed++;
    this.complete(d, status, result, error);
    if (d.mapping !== null) this.domain.release(d.mapping);
    if (this.inFlight === 0 && this.idleWaiters.length > 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * Refs the thread while published work is outstanding, or from close, kill
   * or failure until it has exited (so `await close()` returns); unrefs it
   * otherwise: the process stays alive for work it awaits, never for an idle engine.
   */
  private holdAlive(): void {
    const want = this.life !== Life.Exited && (this.life !== Life.Running || this.watching);
    if (want !== this.referenced) {
      this.referenced = want;
      if (want) this.worker.ref();
      else this.worker.unref();
    }
  }

  /** Fails everything outstanding with `error` and stops taking work; `to`: the thread failed, or exited. */
  private fail(error: Error, to: typeof Life.Failed | typeof Life.Exited): void {
    const was = this.life;
    if (this.down) {
      // Failed before: its work failed then; only the exit is news.
      this.life = to;
      this.holdAlive();
      return;
    }
    // What the worker finished before it stopped is still good.
    this.reap();
    this.life = to;
    this.error = error;
    this.holdAlive();
    const ring = this.ring;
    const lost: WorkerDescriptor[] = [];
    for (; ring.reaped !== ring.written; ring.reaped = (ring.reaped + 1) | 0) {
      lost.push(this.slots[ring.index(ring.reaped)]!);
      this.slots[ring.index(ring.reaped)] = undefined;
    }
    ring.published = ring.written = ring.reaped;
    lost.push(...this.overflow.splice(0));
    // A close is not a failure unless it lost work; a kill (fault, timeout) always is: the device may replace the thread.
    if (was !== Life.Closing || lost.length > 0) this.onFailure(this, error);
    for (const d of lost) this.finish(d, DmaStatus.Error, 0, error);
  }

  /**
   * Fails every descriptor not yet handed to the worker (written but not
   * published, or waiting for a slot) with `error`; what the worker has
   * already been given still completes. (dmaengine_terminate_all, as far as a
   * thread that cannot be interrupted mid-kernel allows.)
   */
  override terminateAll(error: Error = new OperationError(`${this.name}: descriptor terminated before it was issued`)): void {
    const lost: WorkerDescriptor[] = [];
    while (this.ring.unpublished > 0) {
      this.ring.unwrite();
      const i = this.ring.index(this.ring.written);
      lost.unshift(this.slots[i]!);
      this.slots[i] = undefined;
    }
    lost.push(...this.overflow.splice(0));
    this.overflowIssued = 0;
    for (const d of lost) this.finish(d, DmaStatus.Error, 0, error);
  }

  /**
   * Stops the channel. Graceful (default): takes no new work, issues and
   * finishes everything submitted, then ends the thread. `force`: ends the
   * thread at once; whatever it had not completed fails with a clear error.
   */
  async close(force = false): Promise<void> {
    if (this.life === Life.Running) this.life = Life.Closing;
    this.holdAlive();
    if (!force) {
      this.issuePending();
      await this.drained();
      this.ring.stop();
      await this.exited;
    } else {
      this.killing(new OperationError(`${this.name}: the channel was closed with this descriptor outstanding`));
      await this.worker.terminate();
      await this.exited;
    }
  }

  /**
   * Ends the thread at once. Outstanding work — running, published, queued —
   * fails with `error`, but only after the thread is gone: nothing it was
   * running can write memory (a bounce block, a re-run elsewhere) afterwards.
   * What it completed before it stopped completes normally.
   */
  override async kill(error: Error): Promise<void> {
    this.killing(error);
    await this.worker.terminate();
    await this.exited;
  }

  /** Enters Killing with `error`, unless the thread is already being killed, failed or gone. */
  private killing(error: Error): void {
    if (this.life < Life.Killing) {
      this.life = Life.Killing;
      this.error = error;
    }
    this.holdAlive();
  }

  /** Resolves once the thread has exited (after a failure, a kill or a close). */
  whenExited(): Promise<void> {
    return this.exited;
  }

  /** Resolves once nothing is outstanding (every descriptor completed or failed). */
  private drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

