/**
 * Submit control shared by every operation, as the kernel's async_tx.c:
 * flags, descriptors, dependency chaining, acknowledgement, and the one place
 * where completions and callbacks happen.
 *
 * Rules kept here (DESIGN §3):
 * - callbacks run exactly once and always asynchronously (never inside the call that submitted);
 * - a child starts only after its parent completed; one parent, one child;
 * - using a descriptor as `depend` acknowledges it; an acknowledged parent cannot take a child.
 */
import { performance } from 'node:perf_hooks';
import { DmaStatus, isIoOp, opSourceBytes, type Channel, type HwDescriptor, type HwOp } from '../dmaengine/index.js';
import { AsyncTxError, DependencyFailedError, DependencyMisuseError, InvalidArgumentError, OperationError, UnknownFlagError } from '../errors.js';
import type { TxContext } from './context.js';
import { TxFlags } from './constants.js';
import { describe } from './validate.js';

export { TxFlags, SumCheck } from './constants.js';
const ALL_FLAGS = 31;

/** Completion callback: runs once, asynchronously, with the error if the operation failed. */
export type TxCallback = (error?: Error) => void;

/** Submit control (struct async_submit_ctl). */
export interface SubmitCtl {
  /** TxFlags bits. */
  flags?: number;
  /** The descriptor this one must wait for. Using it here acknowledges it. */
  depend?: Tx | null;
  /** Called once when this descriptor completes. */
  callback?: TxCallback | null;
}

/** A descriptor, as the consumer sees it. */
export interface Tx {
  /** Operation name: memcpy, memset, xor, xor_val, pq, pq_val, raid6_2data, raid6_datap, interrupt. */
  readonly op: string;
  /** Cookie on the channel that ran it (0 until it is submitted to one). */
  readonly cookie: number;
  /** Name of that channel ("software/0", "worker/1", …), or "" until chosen. */
  readonly channel: string;
  readonly status: DmaStatus;
  /** SumCheck bits for xor_val and pq_val; 0 otherwise. */
  readonly result: number;
  /** Why the descriptor ended in DmaStatus.Error. */
  readonly error: Error | undefined;
  readonly flags: number;
  /** Acknowledged: it can no longer be a parent. */
  readonly acked: boolean;
}

/** Core-private: the descriptor with its chaining state. */
export class TxDescriptor implements Tx {
  cookie = 0;
  channel = '';
  status: DmaStatus = DmaStatus.InProgress;
  result = 0;
  error: Error | undefined = undefined;
  acked: boolean;
  child: TxDescriptor | null = null;
  /** Set while waiting for the parent: what to do once it completed. */
  startWhenParentDone: (() => void) | null = null;
  /** The engine descriptor, while one runs this. */
  hw: HwDescriptor | null = null;
  /** Where this step goes once its parent completes (set while it waits): the parent hands its mapping on. */
  bound: { readonly chan: Channel; readonly op: HwOp } | null = null;
  /** Source bytes of the operation (for statistics). */
  bytes = 0;
  private callback: TxCallback | null;
  /** Made on the first whenDone(): most descriptors are never waited for. */
  private waiters: Array<() => void> | null = null;

  constructor(
    readonly ctx: TxContext,
    readonly op: string,
    readonly flags: number,
    readonly parent: TxDescriptor | null,
    callback: TxCallback | null,
  ) {
    this.acked = (flags & TxFlags.Ack) !== 0;
    this.callback = callback;
  }

  /** Resolves (once) when the descriptor reaches a final status. */
  whenDone(): Promise<void> {
    if (this.status !== DmaStatus.InProgress) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  /**
   * The single completion point: records the outcome, wakes waiters, defers the
   * callback, then starts (or fails) the child from the client's side.
   */
  complete(status: DmaStatus, result = 0, error?: Error): void {
    if (this.status !== DmaStatus.InProgress) return;
    this.settle(status, result, error);
    this.ctx.noteCompleted(this);
    this.notify();
  }

  /** Records the outcome; complete() and the fast path (which counts it itself) then notify(). */
  settle(status: DmaStatus, result: number, error: Error | undefined): void {
    this.status = status;
    this.result = result;
    this.error = error;
    this.hw = null;
  }

  /** After settle(): wakes waiters, defers the callback, then starts or fails the child from the client's side. */
  notify(): void {
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters !== null) for (const wake of waiters) wake();
    const callback = this.callback;
    this.callback = null;
    const error = this.error;
    if (callback !== null) queueMicrotask(() => (error ? callback(error) : callback()));
    const child = this.child;
    if (child !== null && child.startWhenParentDone !== null) {
      const start = child.startWhenParentDone;
      child.startWhenParentDone = null;
      queueMicrotask(() => child.parentDone(start));
    }
  }

  /** Runs the deferred start once the parent is final, or fails this descriptor if the parent failed. */
  parentDone(start: () => void): void {
    const parent = this.parent!;
    if (parent.status === DmaStatus.Error) {
      this.complete(
        DmaStatus.Error,
        0,
        new DependencyFailedError(`${this.op}: not run because the ${parent.op} it depends on failed: ${parent.error?.message}`, {
          cause: parent.error,
        }),
      );
    } else {
      start();
    }
  }
}

/** The checked, normalised submit control of one call. */
export interface CheckedSubmit {
  readonly flags: number;
  readonly parent: TxDescriptor | null;
  readonly callback: TxCallback | null;
}

/** What no submit control means; shared, as nothing writes a CheckedSubmit. */
const NO_SUBMIT: CheckedSubmit = Object.freeze({ flags: 0, parent: null, callback: null });

/**
 * Checks submit control before anything happens: flags known and honoured by
 * this operation, a usable parent, a callable callback.
 */
export function checkSubmit(ctx: TxContext, fn: string, submit: SubmitCtl | undefined, opFlags: number): CheckedSubmit {
  if (submit === undefined || submit === null) return NO_SUBMIT;
  if (typeof submit !== 'object') throw new InvalidArgumentError(`${fn}: submit must be an object, got ${typeof submit}`);
  const flags = submit.flags ?? 0;
  if (typeof flags !== 'number' || !Number.isSafeInteger(flags) || flags < 0) {
    throw new UnknownFlagError(`${fn}: flags must be a non-negative integer of TxFlags bits, got ${describe(flags)}`);
  }
  // Compared as numbers, not with `&`: bitwise operators keep only the low 32 bits, so 2^32 would read as 0.
  if (flags > ALL_FLAGS) throw new UnknownFlagError(`${fn}: unknown flag bits 0x${(flags - (flags & ALL_FLAGS)).toString(16)}`);
  const allowed = opFlags | TxFlags.Ack | TxFlags.Fence;
  if ((flags & ~allowed) !== 0) {
    const names = Object.entries(TxFlags).filter(([, bit]) => (flags & ~allowed & bit) !== 0).map(([name]) => name);
    throw new UnknownFlagError(`${fn}: does not honour flag ${names.join(', ')}`);
  }
  const callback = submit.callback ?? null;
  if (callback !== null && typeof callback !== 'function') throw new InvalidArgumentError(`${fn}: submit.callback must be a function`);
  const depend = submit.depend ?? null;
  let parent: TxDescriptor | null = null;
  if (depend !== null) {
    if (!(depend instanceof TxDescriptor)) throw new DependencyMisuseError(`${fn}: submit.depend is not a descriptor returned by asynctx`);
    if (depend.ctx !== ctx) throw new DependencyMisuseError(`${fn}: submit.depend belongs to another client`);
    if (depend.child !== null) throw new DependencyMisuseError(`${fn}: submit.depend (${depend.op}, cookie ${depend.cookie}) already has a dependent; a parent takes one child`);
    if (depend.acked) throw new DependencyMisuseError(`${fn}: submit.depend (${depend.op}, cookie ${depend.cookie}) was acknowledged and cannot take a dependent`);
    parent = depend;
  }
  return { flags, parent, callback };
}

/** Creates the descriptor for a checked call and links it under its parent (which this acknowledges). */
export function beginTx(ctx: TxContext, op: string, s: CheckedSubmit): TxDescriptor {
  const tx = new TxDescriptor(ctx, op, s.flags, s.parent, s.callback);
  if (s.parent !== null) {
    s.parent.child = tx;
    s.parent.acked = true;
  }
  ctx.noteSubmitted(tx);
  return tx;
}

/**
 * Places a begun descriptor: on the channel the client's policy picks, else inline.
 * A policy that throws (a custom policy returning something other than one of the
 * offered channels or null does) fails this descriptor, with nothing written, rather
 * than leaving it registered and the client unable to drain.
 */
export function dispatch(ctx: TxContext, tx: TxDescriptor, op: HwOp): Tx {
  let chan: Channel | null;
  try {
    chan = ctx.placement.choose(op, tx);
  } catch (err) {
    const error = err instanceof AsyncTxError ? err : new OperationError(`${tx.op}: the client's policy threw: ${String(err)}`, { cause: err });
    tx.complete(DmaStatus.Error, 0, error);
    return tx;
  }
  if (chan !== null && offload(chan, tx, op)) return tx;
  return runSynchronously(tx, op);
}

/** Runs `start` now if the parent is done (or there is none), else when it completes. */
function afterParent(tx: TxDescriptor, start: () => void): void {
  const parent = tx.parent;
  if (parent === null || parent.status === DmaStatus.Complete) start();
  else if (parent.status === DmaStatus.Error) tx.parentDone(start);
  else tx.startWhenParentDone = start;
}

/**
 * The offload branch: hands `op` to `chan` if the channel accepts it.
 * Returns false when it refuses, so the caller falls through to the synchronous branch.
 * A child waiting on a parent is submitted from the client's side when the parent completes.
 */
export function offload(chan: Channel, tx: TxDescriptor, op: HwOp): boolean {
  if (!chan.accepts(op)) return false;
  tx.bytes = opSourceBytes(op);
  const submitToChannel = (): void => {
    tx.bound = null;
    // A channel may still refuse at prepare (no room to map): the step then runs inline.
    if (!tx.ctx.placement.submit(chan, tx, op)) runInline(tx, op);
  };
  // A step submitted when its parent completes is issued at once (async_tx_run_dependencies):
  // the doorbell the caller rang before has already been rung, and nobody else will.
  const deferred = tx.parent !== null && tx.parent.status === DmaStatus.InProgress;
  // On the parent's own channel the step can go now, queued behind it: one doorbell for the chain.
  const parentHw = deferred ? tx.parent!.hw : null;
  if (parentHw !== null && parentHw.channel === chan && tx.ctx.placement.chain(chan, tx, op, parentHw)) return true;
  if (deferred) tx.bound = { chan, op };
  afterParent(tx, deferred ? () => (submitToChannel(), chan.issuePending()) : submitToChannel);
  return true;
}

/** The synchronous branch: wait for the parent, run the kernel, complete. */
export function runSynchronously(tx: TxDescriptor, op: HwOp): TxDescriptor {
  tx.bytes = opSourceBytes(op);
  afterParent(tx, () => runInline(tx, op));
  return tx;
}

/** Time one in this many small inline steps (timing every one would cost more than small steps take). */
const INLINE_SAMPLE = 32;
/** Steps of at least this many source bytes are always timed. */
const INLINE_TIME_ALWAYS = 65536;
let inlineCount = 0;

/** Whether to time this inline kernel step of `bytes` source bytes (for Placement.ranInline). */
export function timeInline(bytes: number): boolean {
  return bytes >= INLINE_TIME_ALWAYS || ++inlineCount % INLINE_SAMPLE === 0;
}

/**
 * Runs a step on the software channel now; it completes before this returns
 * (an I/O step starts on the host I/O channel and completes when its transfers do).
 * Also the last resort of failover, which is why it is exported (core-private).
 */
export function runInline(tx: TxDescriptor, op: HwOp): void {
  const ctx = tx.ctx;
  const io = isIoOp(op);
  const chan = io ? ctx.hostIoChannel : ctx.softwareChannel;
  const desc = chan.prepare(op, (d) => {
    tx.cookie = d.cookie;
    tx.complete(d.status, d.result, d.error);
  })!;
  tx.channel = chan.name;
  tx.hw = desc;
  // I/O is not timed: its cost is the transfers', which the main thread only starts.
  const timed = !io && timeInline(tx.bytes);
  const t0 = timed ? performance.now() : 0;
  chan.submit(desc);
  if (timed) ctx.placement.ranInline(op, (performance.now() - t0) * 1e6);
}
