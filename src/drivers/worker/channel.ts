/**
 * Main side of one worker channel: writes descriptors into the ring, rings
 * the doorbell, and learns of completions through Atomics.waitAsync — no
 * postMessage per operation, no polling loop. Completes descriptors in
 * submission order, as dmaengine requires; the worker runs them in that order,
 * so a Fence is kept by construction.
 *
 * Ring discipline and memory ordering are in protocol.ts; the comments here
 * point to the rule each step relies on.
 */
import { Worker } from 'node:worker_threads';
import {
  Capability, capabilityFor, Channel, DmaStatus, HwDescriptor, OperationError,
  kernels, type CompletionHandler, type Device, type HwOp, type Mapping, type MappingDomain,
} from '../../provider.js';
import { encode, type Encoded } from './encode.js';
import {
  H_CAPACITY, H_DOORBELL, H_HEAD, H_MODERATION, H_NOTIFY, H_SLEEPING, H_SPIN_US, H_STOP, H_TAIL, H_VERSION,
  MAX_BLOCKS, NULL_BLOCK, RING_LAYOUT_VERSION, ringBytes, S_ARG0, S_ARG1, S_BLOCKS, S_COOKIE, S_ERROR_TEXT, S_LEN, S_NBLOCKS, S_OP,
  S_RESULT, S_STATUS, slotBase, SlotStatus, type WorkerInit,
} from './protocol.js';

/** Tuning of one channel. */
export interface WorkerChannelOptions {
  /** Ring slots, a power of two. */
  readonly capacity: number;
  /** Ring the doorbell by itself once this many descriptors wait unissued. */
  readonly batch: number;
  /** Wake the client once per this many completions (and whenever the ring drains). */
  readonly moderation: number;
  /** How long an idle worker polls before parking, µs (lower: less CPU; higher: faster round trips). */
  readonly spinUs: number;
}

/** Counters of one channel. */
export interface WorkerChannelStats {
  submitted: number;
  completed: number;
  /** Times the head was published to the worker. */
  doorbells: number;
  /** Times the worker had to be woken from its park. */
  wakeups: number;
  /** Completion notices the client handled (each may reap many descriptors). */
  notices: number;
  /** Descriptors that found the ring full and waited in the overflow queue (backpressure). */
  ringFull: number;
}

/** A descriptor with its slot image and mapping, made by prepare. */
class WorkerDescriptor extends HwDescriptor {
  constructor(op: HwOp, chan: Channel, onComplete: CompletionHandler, readonly enc: Encoded, readonly mapping: Mapping) {
    super(op, chan, onComplete);
  }
}

const WORKER_CAPABILITIES =
  Capability.Memcpy | Capability.Memset | Capability.Xor | Capability.XorVal | Capability.Pq | Capability.PqVal | Capability.Interrupt;

export class WorkerChannel extends Channel {
  readonly stats: WorkerChannelStats = { submitted: 0, completed: 0, doorbells: 0, wakeups: 0, notices: 0, ringFull: 0 };
  private readonly ring: Int32Array;
  private readonly ringText: Uint8Array;
  private readonly capacity: number;
  private readonly worker: Worker;
  /** Slot counters (protocol.ts): written ≥ published ≥ reaped, all modulo 2^32. */
  private written = 0;
  private published = 0;
  private reaped = 0;
  private readonly slots: Array<WorkerDescriptor | undefined>;
  /** Descriptors waiting for a free slot; the first `overflowIssued` of them were issued. */
  private readonly overflow: WorkerDescriptor[] = [];
  private overflowIssued = 0;
  /** A waitAsync on NOTIFY is outstanding (published work is): the thread holds the process alive. */
  private watching = false;
  /** Whether the thread is ref'd now: while watching or closing, never otherwise. */
  private referenced = false;
  private closing = false;
  /** Set when the thread failed or was terminated: everything outstanding failed with it. */
  private failure: Error | null = null;
  private readonly exited: Promise<void>;
  /** The thread has exited. */
  private gone = false;
  private readonly decoder = new TextDecoder();
  private idleWaiters: Array<() => void> = [];

  constructor(
    device: Device,
    index: number,
    /** The mapping domain (the arena's) the channel maps blocks into. */
    readonly domain: MappingDomain,
    scratch: Uint8Array,
    private readonly opts: WorkerChannelOptions,
    private readonly onFailure: (chan: WorkerChannel, error: Error) => void,
  ) {
    super(device, index);
    this.capacity = opts.capacity;
    const sab = new SharedArrayBuffer(ringBytes(this.capacity));
    this.ring = new Int32Array(sab);
    this.ringText = new Uint8Array(sab);
    this.slots = new Array<WorkerDescriptor | undefined>(this.capacity);
    this.ring[H_VERSION] = RING_LAYOUT_VERSION;
    this.ring[H_CAPACITY] = this.capacity;
    this.ring[H_MODERATION] = opts.moderation;
    this.ring[H_SPIN_US] = opts.spinUs;
    const init: WorkerInit = {
      version: RING_LAYOUT_VERSION,
      ring: sab,
      memory: domain.arena.memory,
      scratch: { offset: scratch.byteOffset, bytes: scratch.length },
      kernels: Object.fromEntries(kernels().map((c) => [c.op, c.impl])),
      name: this.name,
    };
    // postMessage of workerData orders the header writes above before the worker reads them.
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, name: `asynctx ${this.name}`, execArgv: workerExecArgv() });
    // Never keep the process alive by itself; referenced only while published work is outstanding.
    this.worker.unref();
    this.worker.on('error', (err) => this.fail(new OperationError(`${this.name}: worker thread failed: ${err.message}`, { cause: err })));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.gone = true;
        this.holdAlive();
        this.fail(new OperationError(`${this.name}: worker thread exited (code ${code}) with work outstanding`));
        resolve();
      });
    });
  }

  /** The mapping of a descriptor this kind of channel prepared (null for any other). */
  static mappingOf(desc: HwDescriptor): Mapping | null {
    return desc instanceof WorkerDescriptor ? desc.mapping : null;
  }

  /** Why the channel stopped, or null while it runs. */
  get failed(): Error | null {
    return this.failure;
  }

  accepts(op: HwOp): boolean {
    if (this.closing || this.failure !== null) return false;
    const blocks = op.kind === 'xor' ? op.srcs.length + 1 : op.kind === 'xor_val' ? op.srcs.length : 'data' in op ? op.data.length + 2 : 2;
    return blocks <= MAX_BLOCKS && (WORKER_CAPABILITIES & capabilityFor(op.kind)) !== 0;
  }

  /**
   * Prepares a descriptor: maps its blocks into the arena (bounce copies of
   * the blocks it reads happen here, after any parent completed). Returns
   * null when the channel cannot take it, or the arena has no room to bounce
   * it: the caller then falls back to the synchronous path.
   */
  override prepare(op: HwOp, onComplete: CompletionHandler): HwDescriptor | null {
    if (!this.accepts(op)) return null;
    const enc = encode(op);
    let mapping: Mapping;
    try {
      mapping = this.domain.map(enc.blocks, enc.roles, op);
    } catch {
      return null;
    }
    return new WorkerDescriptor(op, this, onComplete, enc, mapping);
  }

  protected enqueue(desc: HwDescriptor): void {
    if (!(desc instanceof WorkerDescriptor) || desc.channel !== this) throw new TypeError(`${this.name}: descriptor was not prepared by this channel`);
    this.stats.submitted++;
    if (this.failure !== null) {
      queueMicrotask(() => this.finish(desc, DmaStatus.Error, 0, this.failure!));
      return;
    }
    if (this.overflow.length === 0 && this.hasRoom()) {
      this.write(desc);
    } else {
      this.stats.ringFull++;
      this.overflow.push(desc);
    }
    if (((this.written - this.published) | 0) >= this.opts.batch) this.publish();
  }

  issuePending(): void {
    this.overflowIssued = this.overflow.length;
    this.publish();
  }

  private hasRoom(): boolean {
    return ((this.written - this.reaped) | 0) < this.capacity;
  }

  /** Writes a descriptor into the next slot (main-owned until published). */
  private write(d: WorkerDescriptor): void {
    const r = this.ring;
    const base = slotBase(this.written, this.capacity);
    const { enc, mapping } = d;
    r[base + S_OP] = enc.opcode;
    r[base + S_COOKIE] = d.cookie;
    r[base + S_LEN] = enc.len;
    r[base + S_NBLOCKS] = enc.blocks.length;
    r[base + S_ARG0] = enc.arg0;
    r[base + S_ARG1] = enc.arg1;
    r[base + S_STATUS] = SlotStatus.Pending;
    r[base + S_RESULT] = 0;
    const offs = mapping.offsets;
    for (let i = 0; i < offs.length; i++) r[base + S_BLOCKS + i] = offs[i] < 0 ? NULL_BLOCK : offs[i];
    this.slots[this.written & (this.capacity - 1)] = d;
    this.written = (this.written + 1) | 0;
  }

  /** The doorbell: hands every written slot to the worker and wakes it if it parked. */
  private publish(): void {
    if (this.published === this.written || this.failure !== null) return;
    // Snapshot NOTIFY before the worker can see new work, so the first completion of it cannot
    // be missed by the wait below (protocol.ts, "Completions").
    const seq = Atomics.load(this.ring, H_NOTIFY);
    // Publishes the slots and the bytes copied in by map (protocol.ts, first rule).
    Atomics.store(this.ring, H_HEAD, this.written);
    this.published = this.written;
    this.stats.doorbells++;
    Atomics.add(this.ring, H_DOORBELL, 1);
    // Only a parked worker needs the (costlier) notify (protocol.ts, "Doorbell").
    if (Atomics.load(this.ring, H_SLEEPING) !== 0) {
      Atomics.notify(this.ring, H_DOORBELL, 1);
      this.stats.wakeups++;
    }
    if (!this.watching) this.watch(seq);
  }

  /** Waits for the next completion notice after `seq`; keeps the process alive meanwhile. */
  private watch(seq: number): void {
    this.watching = true;
    this.holdAlive();
    const w = Atomics.waitAsync(this.ring, H_NOTIFY, seq);
    if (w.async) void w.value.then(this.onNotice);
    else queueMicrotask(this.onNotice);
  }

  private readonly onNotice = (): void => {
    this.watching = false;
    if (this.failure !== null) return;
    this.stats.notices++;
    // Snapshot before reaping (protocol.ts, "Completions"): a completion we do not see below
    // bumps NOTIFY after this load, so the next wait returns at once.
    const seq = Atomics.load(this.ring, H_NOTIFY);
    this.reap();
    this.refill();
    if (this.published !== this.reaped) this.watch(seq);
    else this.holdAlive();
  };

  /** Completes every slot the worker finished, in order. */
  private reap(): void {
    const tail = Atomics.load(this.ring, H_TAIL);
    while (this.reaped !== tail) {
      const i = this.reaped & (this.capacity - 1);
      const d = this.slots[i]!;
      this.slots[i] = undefined;
      const base = slotBase(this.reaped, this.capacity);
      this.reaped = (this.reaped + 1) | 0;
      if (this.ring[base + S_STATUS] === SlotStatus.Complete) {
        this.domain.unmap(d.mapping);
        this.finish(d, DmaStatus.Complete, this.ring[base + S_RESULT]);
      } else {
        const at = (base + S_ERROR_TEXT) * 4;
        const text = this.decoder.decode(this.ringText.slice(at, at + this.ring[base + S_RESULT]));
        this.finish(d, DmaStatus.Error, 0, new OperationError(`${this.name}: ${d.op.kind} failed in the worker: ${text}`));
      }
    }
  }

  /** Moves waiting descriptors into freed slots; publishes those already issued. */
  private refill(): void {
    let issued = false;
    while (this.overflow.length > 0 && this.hasRoom()) {
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
    this.domain.release(d.mapping);
    if (this.inFlight === 0 && this.idleWaiters.length > 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * Refs the thread while published work is outstanding or the channel is
   * closing (so `await close()` returns), unrefs it otherwise: the process
   * stays alive for work it awaits, never for an idle engine.
   */
  private holdAlive(): void {
    const want = !this.gone && (this.closing || (this.watching && this.failure === null));
    if (want !== this.referenced) {
      this.referenced = want;
      if (want) this.worker.ref();
      else this.worker.unref();
    }
  }

  /** Fails everything outstanding with `error` and stops taking work. */
  private fail(error: Error): void {
    if (this.failure !== null) return;
    // What the worker finished before it stopped is still good.
    this.reap();
    this.failure = error;
    this.holdAlive();
    const lost: WorkerDescriptor[] = [];
    for (; this.reaped !== this.written; this.reaped = (this.reaped + 1) | 0) {
      const i = this.reaped & (this.capacity - 1);
      lost.push(this.slots[i]!);
      this.slots[i] = undefined;
    }
    this.published = this.written = this.reaped;
    lost.push(...this.overflow.splice(0));
    if (!this.closing || lost.length > 0) this.onFailure(this, error);
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
    while (this.written !== this.published) {
      this.written = (this.written - 1) | 0;
      const i = this.written & (this.capacity - 1);
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
    this.closing = true;
    this.holdAlive();
    if (!force) {
      this.issuePending();
      await this.drained();
      Atomics.store(this.ring, H_STOP, 1);
      Atomics.add(this.ring, H_DOORBELL, 1);
      Atomics.notify(this.ring, H_DOORBELL);
    } else {
      this.fail(new OperationError(`${this.name}: the channel was closed with this descriptor outstanding`));
      await this.worker.terminate();
    }
    await this.exited;
  }

  /** Resolves once nothing is outstanding (every descriptor completed or failed). */
  private drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/**
 * The node options a worker inherits, less those that only make sense for
 * the main script (`node --input-type=module -e …` would make every worker fail).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '--input-type') i++;
    else if (!a.startsWith('--input-type=') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}
