/**
 * The scheduler: places each operation (cost model + policy), keeps the model
 * current from what completes, and fails over — an engine's failure, death,
 * unregistration or timeout re-runs the step on the next best capable device,
 * ending with the inline path, with its callback still run once, with the
 * final outcome. Core-private: it is the Placement a client's TxContext is
 * constructed with (async_tx/placement.ts).
 */
import { performance } from 'node:perf_hooks';
import { completeFromEngine, handToChannel, type Placement } from '../async_tx/placement.js';
import type { TxContext } from '../async_tx/context.js';
import { dispatch, runInline, type TxDescriptor } from '../async_tx/submit.js';
import { DependencyFailedError, IoError, OperationError } from '../errors.js';
import { DmaStatus, opSourceBytes, type Channel, type Device, type HwDescriptor, type HwOp, type HwOpKind } from '../dmaengine/index.js';
import { CostModel } from './cost.js';
import {
  autoPolicy, engineOf, INLINE, inlinePolicy, offloadPolicy, PLACEMENT_DEFAULTS,
  type PlacementContext, type Policy, type PolicyName,
} from './policy.js';
import { readsItsOutput, Stage } from './stage.js';
import { CounterTable, newChannelCounters, newOpCounters, type ChannelCounters, type OpCounters } from './stats.js';

export interface SchedulerOptions {
  /** A named policy, or a function (reported as 'custom'). */
  readonly policy: PolicyName | Policy;
  /** An engine descriptor outstanding longer than this fails over (its engine is stopped first). */
  readonly timeoutMs: number;
}

/** One descriptor out on an engine. */
interface Attempt {
  readonly chan: Channel;
  readonly op: HwOp;
  readonly kind: HwOpKind;
  readonly bytes: number;
  readonly estNs: number;
  readonly submittedMs: number;
  readonly stage: Stage | null;
}

export interface SchedulerStats {
  readonly policy: string;
  readonly channels: Record<string, ChannelCounters>;
  readonly ops: Record<string, OpCounters>;
  readonly model: ReturnType<CostModel['table']>;
}

const { handoffNs: HANDOFF_NS, mainThreadWeight: WEIGHT } = PLACEMENT_DEFAULTS;

export class Scheduler implements Placement {
  readonly model = new CostModel();
  private readonly policy: Policy;
  private readonly policyName: string;
  private readonly attempts = new Map<TxDescriptor, Attempt>();
  /** Attempts past their deadline whose engine is being stopped. */
  private readonly expiring = new WeakSet<Attempt>();
  /** Devices a descriptor already failed on. */
  private readonly tried = new WeakMap<TxDescriptor, Set<Device>>();
  /** The engine channel each descriptor ran on, for chain stickiness. */
  private readonly ranOn = new WeakMap<TxDescriptor, Channel>();
  private readonly queued = new Map<Channel, { ns: number; count: number; busySince: number; lastDoneMs: number }>();
  private readonly channelCounters = new CounterTable(newChannelCounters);
  private readonly opCounters = new CounterTable(newOpCounters);
  private sweep: NodeJS.Timeout | null = null;
  /** The cheapest an offload can be (overhead + hand-off): smaller inline costs skip the policy. */
  private minOffloadNs: number = PLACEMENT_DEFAULTS.overheadNs;

  constructor(
    /** The client's capable channels for an operation kind, in table order. */
    private readonly channelsFor: (kind: HwOpKind) => readonly Channel[],
    private readonly options: SchedulerOptions,
  ) {
    if (typeof options.policy === 'function') {
      this.policy = options.policy;
      this.policyName = 'custom';
    } else {
      this.policyName = options.policy;
      this.policy =
        options.policy === 'inline' ? inlinePolicy
        : options.policy === 'offload' ? offloadPolicy()
        : autoPolicy(this.model);
    }
  }

  /** Seeds a figure: GB/s of an operation on an engine ("inline" for the synchronous path). */
  seed(engine: string, kind: HwOpKind, gbps: number): void {
    this.model.seedThroughput(engine, kind, gbps);
  }

  /** Sets an engine's measured per-descriptor overhead (a doorbell round trip), ns. */
  setOverhead(engine: string, ns: number): void {
    this.model.setOverhead(engine, ns);
    this.minOffloadNs = ns + HANDOFF_NS * WEIGHT;
  }

  private place(op: HwOp, tx: TxDescriptor, policy: Policy): Channel | null {
    const tried = this.tried.get(tx);
    const channels = this.channelsFor(op.kind).filter(
      (c) => c.device !== tx.ctx.software && (tried === undefined || !tried.has(c.device)) && c.accepts(op),
    );
    if (channels.length === 0) return null;
    const where: PlacementContext = {
      channels,
      parentChannel: tx.parent !== null ? (this.ranOn.get(tx.parent) ?? null) : null,
      queuedNs: (c) => this.queued.get(c)?.ns ?? 0,
    };
    return policy(op, where);
  }

  /** Placement.choose: the engine for `op`, or null to run it inline. */
  choose(op: HwOp, tx: TxDescriptor): Channel | null {
    return this.cheapInline(op) ? null : this.place(op, tx, this.policy);
  }

  /**
   * The inline policy, or auto where running inline costs less than the cheapest hand-off
   * could: no need to ask the policy.
   */
  private cheapInline(op: HwOp): boolean {
    if (this.policy === inlinePolicy) return true;
    return this.policyName === 'auto' && this.model.serviceNs(INLINE, op.kind, opSourceBytes(op)) * (1 + WEIGHT) < this.minOffloadNs;
  }

  /**
   * Placement.inlineNow: cheapInline, or no engine channel takes `op` — then place() finds
   * none for any descriptor (the devices one already failed on only narrow the list).
   */
  inlineNow(op: HwOp, ctx: TxContext): boolean {
    if (this.cheapInline(op)) return true;
    for (const c of this.channelsFor(op.kind)) if (c.device !== ctx.software && c.accepts(op)) return false;
    return true;
  }

  /** Placement.submit: stages what a re-run would need, then hands the step to the engine. */
  submit(chan: Channel, tx: TxDescriptor, op: HwOp): boolean {
    return this.submitStaged(chan, tx, op, Stage.of(op));
  }

  /**
   * Placement.chain: queues `op` behind its parent's descriptor on the same channel. Not for a
   * step that reads its own output: what a re-run restores must be saved when it starts, and a
   * chained step starts later, on the engine.
   */
  chain(chan: Channel, tx: TxDescriptor, op: HwOp, parent: HwDescriptor): boolean {
    if (readsItsOutput(op)) return false;
    return this.submitStaged(chan, tx, op, null, parent);
  }

  private submitStaged(chan: Channel, tx: TxDescriptor, op: HwOp, stage: Stage | null, after: HwDescriptor | null = null): boolean {
    const desc = handToChannel(chan, tx, op, () => this.track(chan, tx, op, stage), after);
    if (desc === null) return false;
    this.armSweep();
    return true;
  }

  /** Records an attempt and the channel's queue before the engine can complete it. */
  private track(chan: Channel, tx: TxDescriptor, op: HwOp, stage: Stage | null): void {
    const kind = op.kind;
    const bytes = opSourceBytes(op);
    const engine = engineOf(chan);
    const estNs = this.model.overheadNs(engine) + this.model.serviceNs(engine, kind, bytes);
    const now = performance.now();
    let q = this.queued.get(chan);
    if (q === undefined) this.queued.set(chan, (q = { ns: 0, count: 0, busySince: now, lastDoneMs: now }));
    if (q.count === 0) q.busySince = now;
    q.ns += estNs;
    q.count++;
    const counters = this.channelCounters.get(chan.name);
    if (q.count > counters.queueHighWater) counters.queueHighWater = q.count;
    this.attempts.set(tx, { chan, op, kind, bytes, estNs, submittedMs: now, stage });
    this.ranOn.set(tx, chan);
  }

  private settle(a: Attempt): number {
    const q = this.queued.get(a.chan)!;
    const now = performance.now();
    q.ns = Math.max(0, q.ns - a.estNs);
    q.count--;
    if (q.count === 0) this.channelCounters.get(a.chan.name).busyMs += now - q.busySince;
    // Service time: from when this step could start (submitted, or the previous one done) until now.
    const serviceMs = now - Math.max(a.submittedMs, q.lastDoneMs);
    q.lastDoneMs = now;
    return serviceMs;
  }

  /** Placement.completed: observe, then complete — or fail over. */
  completed(tx: TxDescriptor, desc: HwDescriptor): void {
    const a = this.attempts.get(tx);
    // A late result of an attempt already abandoned (timed out, re-run elsewhere) is dropped.
    if (a === undefined || tx.hw !== desc) return;
    this.attempts.delete(tx);
    const serviceMs = this.settle(a);
    const counters = this.channelCounters.get(a.chan.name);
    if (desc.status === DmaStatus.Error && desc.error instanceof DependencyFailedError && tx.parent !== null) {
      // Chained behind a parent that failed on this engine: not this step's failure. It runs
      // once the parent is final (re-run elsewhere, or failed for good).
      tx.hw = null;
      this.afterParentFinal(tx, () => {
        dispatch(tx.ctx, tx, a.op);
        tx.ctx.issuePendingAll();
      });
      return;
    }
    if (desc.status === DmaStatus.Error) {
      counters.errors++;
      // The target failed, not the engine: running the transfer elsewhere would only repeat it.
      if (desc.error instanceof IoError) completeFromEngine(tx, desc);
      else this.failover(tx, a);
      return;
    }
    counters.ops++;
    counters.bytes += a.bytes;
    const engine = engineOf(a.chan);
    const observedNs = desc.serviceNs > 0 ? desc.serviceNs : serviceMs * 1e6;
    this.model.observe(engine, a.kind, a.bytes, observedNs);
    completeFromEngine(tx, desc);
  }

  /** Runs a failed step again: on the next best engine not yet tried, else inline. */
  private failover(tx: TxDescriptor, a: Attempt): void {
    this.channelCounters.get(a.chan.name).failovers++;
    this.opCounters.get(a.kind).failovers++;
    let tried = this.tried.get(tx);
    if (tried === undefined) this.tried.set(tx, (tried = new Set()));
    tried.add(a.chan.device);
    tx.hw = null;
    a.stage?.restore();
    // A chained step whose engine died with its parent re-runs only after the parent did.
    this.afterParentFinal(tx, () => {
      const next = this.place(a.op, tx, offloadPolicy());
      if (next !== null && this.submitStaged(next, tx, a.op, a.stage)) {
        next.issuePending();
        return;
      }
      // The inline path is the last resort; if it fails too, the descriptor ends with that error.
      runInline(tx, a.op);
    });
  }

  /** Runs `go` once `tx`'s parent completed (now, if it has); fails `tx` if the parent failed. */
  private afterParentFinal(tx: TxDescriptor, go: () => void): void {
    const parent = tx.parent;
    if (parent === null || parent.status === DmaStatus.Complete) go();
    else if (parent.status === DmaStatus.Error) tx.parentDone(go);
    else tx.startWhenParentDone = go;
  }

  /** Placement.ranInline: the synchronous path timed a step. */
  ranInline(op: HwOp, ns: number): void {
    this.model.observe(INLINE, op.kind, opSourceBytes(op), ns);
  }

  private armSweep(): void {
    if (this.sweep !== null) return;
    const period = Math.max(5, Math.min(250, this.options.timeoutMs / 4));
    this.sweep = setInterval(() => this.expire(), period);
    this.sweep.unref();
  }

  /** Fails over every attempt past its deadline, after stopping its engine so no late write can land. */
  private expire(): void {
    const now = performance.now();
    const late = [...this.attempts].filter(([, a]) => now - a.submittedMs > this.options.timeoutMs);
    if (this.attempts.size === 0 && this.sweep !== null) {
      clearInterval(this.sweep);
      this.sweep = null;
    }
    // One kill per channel. The kill completes what the engine finished before it stopped and
    // fails the rest through `completed` (which fails those over): a step the engine finished is
    // never run again — a chained step behind it may already have overwritten its inputs. An
    // attempt the kill did not settle (an engine that cannot be stopped) fails over after it.
    const killed = new Map<Channel, Promise<void>>();
    for (const [tx, a] of late) {
      if (this.attempts.get(tx) !== a || this.expiring.has(a)) continue;
      this.expiring.add(a);
      this.channelCounters.get(a.chan.name).timeouts++;
      const error = new OperationError(`${a.chan.name}: ${a.kind} did not complete within ${this.options.timeoutMs} ms`);
      let stopped = killed.get(a.chan);
      if (stopped === undefined) killed.set(a.chan, (stopped = a.chan.kill(error)));
      const settleLate = (): void => {
        if (this.attempts.get(tx) !== a) return;
        this.attempts.delete(tx);
        this.settle(a);
        tx.hw = null;
        this.channelCounters.get(a.chan.name).errors++;
        this.failover(tx, a);
      };
      void stopped.then(settleLate, settleLate);
    }
  }

  /** Stops the timeout sweep. */
  close(): void {
    if (this.sweep !== null) clearInterval(this.sweep);
    this.sweep = null;
  }

  stats(): SchedulerStats {
    return { policy: this.policyName, channels: this.channelCounters.snapshot(), ops: this.opCounters.snapshot(), model: this.model.table() };
  }
}
