/**
 * The fault-injection device (SPDK's module/accel/error, made a wrapper):
 * wraps another device and, by seeded probability or by rule, fails
 * descriptors, delays them, or kills the engine behind the channel while it
 * runs one. A fault is always reported — a failed descriptor may have
 * scribbled over its outputs, as a real engine that dies mid-transfer can,
 * but it never completes as a success with wrong bytes.
 */
import {
  Channel, DependencyFailedError, DmaStatus, HwDescriptor, InvalidArgumentError, opOutputs, OperationError,
  seededRandom, type CompletionHandler, type Device, type DeviceStats, type FaultCounts, type HwOp, type HwOpKind,
} from '../../provider.js';

export type FaultAction = 'fail' | 'delay' | 'crash';

/** A deterministic fault: `action` for the descriptors `match` picks (seq counts this device's descriptors from 0). */
export interface FaultRule {
  readonly action: FaultAction;
  readonly op?: HwOpKind;
  readonly seq?: number;
  readonly match?: (op: HwOp, seq: number) => boolean;
}

export interface FaultOptions {
  /** Seed of the generator behind the probabilities (default 1). */
  readonly seed?: number;
  /** Probability per descriptor of a reported failure. */
  readonly fail?: number;
  /** Probability per descriptor of a delay before it runs. */
  readonly delay?: number;
  /** [min, max] milliseconds of an injected delay (default [1, 5]). */
  readonly delayMs?: readonly [number, number];
  /** Probability per descriptor that the engine is killed while it runs it. */
  readonly crash?: number;
  /** Faults by rule, checked before the probabilities. */
  readonly rules?: readonly FaultRule[];
}

/** The error a descriptor fails with when the fault device failed it on purpose. */
export class InjectedFaultError extends OperationError {
  constructor(message: string) {
    super(message);
  }
}

/** Seeded, so a run's faults replay. */
const generator = seededRandom;

export type { FaultCounts };

class FaultDescriptor extends HwDescriptor {
  inner: HwDescriptor | null = null;
  timer: NodeJS.Timeout | null = null;
  constructor(
    op: HwOp,
    chan: Channel,
    onComplete: CompletionHandler,
    readonly fault: FaultAction | null,
    readonly delayMs: number,
    /** The earlier descriptor this one was chained behind (prepareAfter), or null. */
    readonly after: FaultDescriptor | null = null,
  ) {
    super(op, chan, onComplete);
  }
}

export class FaultChannel extends Channel {
  private readonly held = new Set<FaultDescriptor>();

  constructor(
    override readonly device: FaultDevice,
    index: number,
    readonly inner: Channel,
  ) {
    super(device, index);
  }

  override get name(): string {
    return `${this.device.name}(${this.inner.name})`;
  }

  accepts(op: HwOp): boolean {
    return this.inner.accepts(op);
  }

  override prepare(op: HwOp, onComplete: CompletionHandler): HwDescriptor | null {
    if (!this.accepts(op)) return null;
    const { action, delayMs } = this.device.decide(op);
    const outer = new FaultDescriptor(op, this, onComplete, action, delayMs);
    // A delayed descriptor is prepared on the inner channel only when it is let go, so one
    // dropped while held (kill) leaves nothing mapped behind.
    if (action !== 'fail' && action !== 'delay') {
      const inner = this.inner.prepare(op, (d) => this.innerDone(outer, d));
      if (inner === null) return null;
      outer.inner = inner;
    }
    return outer;
  }

  /**
   * Chains behind `parent` on the inner channel when the inner channel can. Where it cannot
   * (the parent is held for a delay, or the inner channel refuses), the step fails unrun with
   * DependencyFailedError when submitted — always a correct answer for a chained step: the
   * core runs it again once the parent is final.
   */
  override prepareAfter(op: HwOp, onComplete: CompletionHandler, parent: HwDescriptor): HwDescriptor | null {
    if (!(parent instanceof FaultDescriptor) || parent.channel !== this || !this.accepts(op)) return null;
    const { action, delayMs } = this.device.decide(op);
    const outer = new FaultDescriptor(op, this, onComplete, action, delayMs, parent);
    if (action === null || action === 'crash') outer.inner = this.innerAfter(outer);
    return outer;
  }

  /** The inner descriptor of a chained step, behind its parent's inner one; null when it cannot be. */
  private innerAfter(outer: FaultDescriptor): HwDescriptor | null {
    const p = outer.after!.inner;
    const done = (x: HwDescriptor): void => this.innerDone(outer, x);
    if (p === null || p.status === DmaStatus.Error) return null;
    return p.status === DmaStatus.Complete ? this.inner.prepare(outer.op, done) : this.inner.prepareAfter(outer.op, done, p);
  }

  protected enqueue(desc: HwDescriptor): void {
    const d = desc as FaultDescriptor;
    if (d.after !== null && (d.fault === null || d.fault === 'crash') && d.inner === null) {
      queueMicrotask(() => this.complete(d, DmaStatus.Error, 0, new DependencyFailedError(`${this.name}: ${d.op.kind} could not be chained behind its parent here`)));
      return;
    }
    switch (d.fault) {
      case 'fail':
        // Like an engine that gave up half way: outputs may be partly written, and it says so.
        // Not a chained step's: a real engine reaches it only after its parent completed, and
        // scribbling now could hit bytes the parent has still to read.
        if (d.after === null) for (const out of opOutputs(d.op)) out.fill(0xee, 0, out.length >> 1);
        queueMicrotask(() => this.complete(d, DmaStatus.Error, 0, new InjectedFaultError(`${this.name}: injected failure of ${d.op.kind}`)));
        return;
      case 'delay':
        this.held.add(d);
        d.timer = setTimeout(() => {
          this.held.delete(d);
          d.timer = null;
          const inner = d.after !== null ? this.innerAfter(d) : this.inner.prepare(d.op, (x) => this.innerDone(d, x));
          if (inner === null && d.after !== null) {
            this.complete(d, DmaStatus.Error, 0, new DependencyFailedError(`${this.name}: delayed ${d.op.kind} could not be chained behind its parent`));
            return;
          }
          if (inner === null) {
            this.complete(d, DmaStatus.Error, 0, new OperationError(`${this.name}: ${this.inner.name} refused a delayed ${d.op.kind}`));
            return;
          }
          this.inner.submit(inner);
          this.inner.issuePending();
        }, d.delayMs);
        return;
      case 'crash':
        this.inner.submit(d.inner!);
        this.inner.issuePending();
        void this.inner.kill(new InjectedFaultError(`${this.inner.name}: engine killed by fault injection while running ${d.op.kind}`));
        return;
      case null:
        this.inner.submit(d.inner!);
    }
  }

  issuePending(): void {
    this.inner.issuePending();
  }

  private innerDone(outer: FaultDescriptor, d: HwDescriptor): void {
    outer.serviceNs = d.serviceNs;
    this.complete(outer, d.status, d.result, d.error);
  }

  override terminateAll(error?: Error): void {
    const err = error ?? new OperationError(`${this.name}: terminated before it was issued`);
    for (const d of [...this.held]) {
      clearTimeout(d.timer!);
      this.held.delete(d);
      this.complete(d, DmaStatus.Error, 0, err);
    }
    this.inner.terminateAll(err);
  }

  /** Held descriptors are dropped first, so a delayed one can never run after the kill. */
  override async kill(error: Error): Promise<void> {
    for (const d of [...this.held]) {
      clearTimeout(d.timer!);
      this.held.delete(d);
      this.complete(d, DmaStatus.Error, 0, error);
    }
    await this.inner.kill(error);
  }
}

/** Wraps `inner`: one fault channel per inner channel, same capabilities and limits. */
export class FaultDevice implements Device {
  readonly name: string;
  readonly capabilities: number;
  readonly limits: Device['limits'];
  readonly counts: FaultCounts = { failed: 0, delayed: 0, crashed: 0, passed: 0 };
  private readonly random: () => number;
  private seq = 0;

  constructor(
    readonly inner: Device,
    private readonly options: FaultOptions = {},
  ) {
    checkFaultOptions(options);
    this.name = `fault:${inner.name}`;
    this.capabilities = inner.capabilities;
    this.limits = inner.limits;
    this.random = generator(options.seed ?? 1);
  }

  private wrapped = new Map<Channel, FaultChannel>();

  /** One fault channel per inner channel — re-read each time, as the inner device may replace one. */
  get channels(): readonly FaultChannel[] {
    const inner = this.inner.channels;
    if (inner.length !== this.wrapped.size || inner.some((c) => !this.wrapped.has(c))) {
      this.wrapped = new Map(inner.map((c, i) => [c, this.wrapped.get(c) ?? new FaultChannel(this, i, c)]));
    }
    return [...this.wrapped.values()];
  }

  /** What happens to the next descriptor. */
  decide(op: HwOp): { action: FaultAction | null; delayMs: number } {
    const seq = this.seq++;
    const o = this.options;
    let action: FaultAction | null = null;
    for (const r of o.rules ?? []) {
      if ((r.op === undefined || r.op === op.kind) && (r.seq === undefined || r.seq === seq) && (r.match === undefined || r.match(op, seq))) {
        action = r.action;
        break;
      }
    }
    // Draw all three every time so one probability does not shift the others' stream.
    const f = this.random(), dl = this.random(), c = this.random(), span = this.random();
    if (action === null) action = f < (o.fail ?? 0) ? 'fail' : c < (o.crash ?? 0) ? 'crash' : dl < (o.delay ?? 0) ? 'delay' : null;
    const [lo, hi] = o.delayMs ?? [1, 5];
    if (action === 'fail') this.counts.failed++;
    else if (action === 'crash') this.counts.crashed++;
    else if (action === 'delay') this.counts.delayed++;
    else this.counts.passed++;
    return { action, delayMs: lo + span * (hi - lo) };
  }

  /** The inner device's counters, with what this device injected. */
  stats(): DeviceStats {
    return { ...this.inner.stats?.(), faults: { ...this.counts } };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Checks fault options up front.
 * @param where how the caller names these options in messages (default "faults").
 * @throws InvalidArgumentError naming the option when a probability, the seed or the delay range is out of range.
 */
export function checkFaultOptions(o: FaultOptions, where = 'faults'): void {
  for (const k of ['fail', 'delay', 'crash'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 1))) throw new InvalidArgumentError(`${where}.${k} must be a probability 0..1, got ${String(v)}`);
  }
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new InvalidArgumentError(`${where}.seed must be an integer, got ${String(o.seed)}`);
  if (o.delayMs !== undefined) {
    const d = o.delayMs;
    if (!Array.isArray(d) || d.length !== 2 || !(d[0] >= 0) || !(d[1] >= d[0])) {
      throw new InvalidArgumentError(`${where}.delayMs must be [min, max] milliseconds with 0 ≤ min ≤ max, got ${JSON.stringify(d)}`);
    }
  }
}
