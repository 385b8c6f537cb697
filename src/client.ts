/**
 * `createClient`: the composition root. A client is a TxContext with the
 * consumer API bound to it, its own device registry (the software path, and
 * a worker device with N threads), a channel table attached to that
 * registry, and a small pluggable policy that picks a channel per operation
 * (the scheduler issue replaces it with a cost model).
 */
import { availableParallelism } from 'node:os';
import { bindOps, contextStats, type AsyncTxOps, type ClientStats } from './async_tx/client.js';
import { TxContext } from './async_tx/context.js';
import { describe } from './async_tx/validate.js';
import type { TxDescriptor } from './async_tx/submit.js';
import {
  capabilityNames, DmaRegistry, DmaStatus, opSourceBytes,
  type Channel, type ChannelClient, type Device, type DeviceLimits, type HwDescriptor, type HwOp,
} from './dmaengine/index.js';
import { WorkerChannel, WorkerDevice, WORKER_DEFAULTS, type WorkerChannelOptions, type WorkerChannelStats } from './drivers/worker/index.js';
import { checkFaultOptions, FaultDevice, type FaultCounts, type FaultOptions } from './drivers/fault/index.js';
import { InvalidArgumentError } from './errors.js';
import { kernels } from './kernels/index.js';
import type { HwOpKind } from './dmaengine/index.js';
import { Scheduler, type SchedulerStats } from './sched/scheduler.js';
import { INLINE, type Policy } from './sched/policy.js';
import { arena } from './mem/arena.js';
import { arenaDomain, type MappingStats } from './mem/mapping.js';

/** How a client places operations: by size ('auto'), always inline, or always on an engine. */
export type PolicyName = 'auto' | 'inline' | 'offload';

export interface ClientOptions {
  /** Worker threads: a number (0 = software path only), or 'auto' = one per spare core. Default 'auto'. */
  readonly workers?: number | 'auto';
  /**
   * Where operations run (default 'auto'): a PolicyName, or a ChannelPolicy function choosing
   * from the client's capable channels (null = inline). Any other answer, or a throw, fails
   * that descriptor (InvalidArgumentError, or OperationError with the thrown cause); nothing is written.
   */
  readonly policy?: PolicyName | ChannelPolicy;
  /** For policy 'auto': offload operations that read at least this many source bytes. Default 64 KiB. */
  readonly offloadThreshold?: number;
  /** Tuning of the worker rings (capacity, batch, moderation, spinUs); see WORKER_DEFAULTS. */
  readonly engine?: Partial<WorkerChannelOptions>;
  /**
   * An engine descriptor outstanding longer than this many milliseconds fails
   * over: its engine is stopped first (so no late result lands) and the step
   * runs again elsewhere. Default 10 000.
   */
  readonly timeoutMs?: number;
  /**
   * Fault injection for tests and drills: wraps every worker channel in the
   * fault device (`fail`, `delay`, `crash`: probabilities per descriptor;
   * `delayMs`: [min, max]; `seed`). Faults are always reported, and failed over.
   */
  readonly faults?: FaultOptions;
}

/** What `devices()` reports per device. */
export interface DeviceInfo {
  readonly name: string;
  readonly capabilities: string[];
  readonly limits: DeviceLimits;
  readonly channels: ReadonlyArray<{
    readonly name: string;
    readonly inFlight: number;
    readonly lastUsed: number;
    readonly lastComplete: number;
    /** Handed out by requestChannel: not in the client's table. */
    readonly exclusive: boolean;
  }>;
}

/**
 * What `stats()` reports: the per-operation counters, each worker ring's, the
 * mapping layer's, and the scheduler's (per channel: operations, bytes, errors,
 * failovers, timeouts, queue high-water mark, busy time; per operation:
 * failovers; the cost model's current figures).
 */
export interface EngineStats extends ClientStats {
  readonly channels: Record<string, WorkerChannelStats>;
  /** The arena mapping domain's counters: shared by every client of this thread's arena (chains map once across them). */
  readonly mapping: MappingStats;
  readonly scheduler: SchedulerStats;
  /** Worker threads started in place of ones that died. */
  readonly respawned: number;
  /** Per fault device, what it injected (only with options.faults). */
  readonly faults?: Record<string, FaultCounts>;
}

/** A client: the module's functions on its own engines, plus what owning engines takes. */
export interface AsyncTxClient extends AsyncTxOps {
  /** A block of `len` bytes in the shared arena: every engine uses it in place (no copies). */
  allocBlock(len: number): Uint8Array;
  /** Returns a block from allocBlock to the arena. */
  freeBlock(block: Uint8Array): void;
  /** The registered devices and their channels. */
  devices(): DeviceInfo[];
  stats(): EngineStats;
  /**
   * Stops taking work (every later call throws ClientClosedError), lets what
   * was submitted complete — issuing it if needed — then ends the worker
   * threads. Work a thread cannot finish fails with an OperationError. Idempotent.
   */
  close(): Promise<void>;
  /** The client's registry: register other devices (hot plug), requestChannel / releaseChannel. */
  readonly registry: DmaRegistry;
}

/** Picks the channel for an operation from the client's capable channels, or null for the inline path. */
export type ChannelPolicy = (op: HwOp, channels: readonly Channel[]) => Channel | null;

/** The capable channel with the least work outstanding (ties: table order), skipping `exclude`. */
export function leastLoaded(op: HwOp, channels: readonly Channel[], exclude?: Device): Channel | null {
  let best: Channel | null = null;
  for (const c of channels) {
    if (c.device === exclude || !c.accepts(op)) continue;
    if (best === null || c.inFlight < best.inFlight) best = c;
  }
  return best;
}

/**
 * The interim policy: 'inline' never offloads, 'offload' always does (to the
 * least-loaded capable engine), 'auto' offloads operations of at least
 * `threshold` source bytes — below that, the hand-off costs more than it saves.
 */
export function thresholdPolicy(name: PolicyName, threshold: number, software: Device): ChannelPolicy {
  switch (name) {
    case 'inline':
      return () => null;
    case 'offload':
      return (op, chans) => leastLoaded(op, chans, software);
    case 'auto':
      return (op, chans) => (opSourceBytes(op) >= threshold ? leastLoaded(op, chans, software) : null);
  }
}

const ENGINE_KEYS: ReadonlySet<string> = new Set(Object.keys(WORKER_DEFAULTS));
const OPTION_KEYS = new Set(['workers', 'policy', 'offloadThreshold', 'engine', 'timeoutMs', 'faults']);

interface CheckedOptions {
  workers: number;
  policy: PolicyName | ChannelPolicy;
  /** Set when the caller fixed a threshold: 'auto' then uses it instead of the cost model. */
  threshold: number | undefined;
  timeoutMs: number;
  faults: FaultOptions | undefined;
  engine: Partial<WorkerChannelOptions>;
}

function checkOptions(options: unknown): CheckedOptions {
  const fn = 'createClient';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(`${fn}: options must be an object`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) throw new InvalidArgumentError(`${fn}: unknown option "${k}"`);
  const w = o.workers ?? 'auto';
  if (w !== 'auto' && (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 256)) {
    throw new InvalidArgumentError(`${fn}: options.workers must be an integer 0..256 or 'auto', got ${describe(w)}`);
  }
  const policy = o.policy ?? 'auto';
  if (policy !== 'auto' && policy !== 'inline' && policy !== 'offload' && typeof policy !== 'function') {
    throw new InvalidArgumentError(`${fn}: options.policy must be 'auto', 'inline', 'offload' or a function, got ${describe(policy)}`);
  }
  const threshold = o.offloadThreshold;
  if (threshold !== undefined && (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 0)) {
    throw new InvalidArgumentError(`${fn}: options.offloadThreshold must be a non-negative integer, got ${describe(threshold)}`);
  }
  const timeoutMs = o.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 1) || !Number.isFinite(timeoutMs)) {
    throw new InvalidArgumentError(`${fn}: options.timeoutMs must be a number of milliseconds ≥ 1, got ${describe(timeoutMs)}`);
  }
  const faults = o.faults as FaultOptions | undefined;
  if (faults !== undefined) {
    if (faults === null || typeof faults !== 'object') throw new InvalidArgumentError(`${fn}: options.faults must be an object`);
    checkFaultOptions(faults, `${fn}: options.faults`);
  }
  const engine = o.engine ?? {};
  if (engine === null || typeof engine !== 'object') throw new InvalidArgumentError(`${fn}: options.engine must be an object`);
  // Refused like unknown top-level keys: a misspelt tuning key would otherwise be ignored silently.
  for (const [k, v] of Object.entries(engine)) {
    if (!ENGINE_KEYS.has(k)) throw new InvalidArgumentError(`${fn}: unknown option "engine.${k}" (known: ${[...ENGINE_KEYS].join(', ')})`);
    if (typeof v !== 'number') throw new InvalidArgumentError(`${fn}: options.engine.${k} must be a number, got ${describe(v)}`);
  }
  const workers = w === 'auto' ? Math.max(1, availableParallelism() - 1) : w;
  return { workers, policy: policy as PolicyName | ChannelPolicy, threshold: threshold as number | undefined, timeoutMs, faults, engine: engine as Partial<WorkerChannelOptions> };
}

let clients = 0;

/**
 * Creates a client with its own engines.
 * @param options workers (N | 'auto'), policy ('auto' | 'inline' | 'offload'), offloadThreshold, engine
 * @throws InvalidArgumentError naming the option that is wrong (a bad engine tuning value included).
 * @throws ArenaExhaustedError / ArenaConfigError when the shared arena cannot hold the workers' scratch.
 */
export function createClient(options: ClientOptions = {}): AsyncTxClient {
  const o = checkOptions(options);
  const ctx = new TxContext(`client#${++clients}`);
  const registry = new DmaRegistry();
  registry.register(ctx.software, { priority: -1 });
  let workers: WorkerDevice | null = null;
  let closingClient = false;
  const respawns = new Backoff();
  if (o.workers > 0) {
    workers = new WorkerDevice({
      ...o.engine,
      optionsName: 'createClient: options.engine',
      channels: o.workers,
      // A thread that dies is replaced (its work has failed over already), with back-off if it keeps dying.
      onChannelFailed: (chan) => {
        if (closingClient || workers === null) return;
        const device = workers;
        setTimeout(() => {
          void device.respawn(chan).then((fresh) => {
            if (fresh !== null && !closingClient) registry.refresh();
          });
        }, respawns.next()).unref();
      },
    });
    registry.register(o.faults !== undefined ? new FaultDevice(workers, o.faults) : workers);
  }
  const table: ChannelClient = registry.attach();
  const scheduler = new Scheduler(ctx, (kind) => table.channelsFor(kind), { policy: placement(o, ctx.software), timeoutMs: o.timeoutMs });
  seedScheduler(scheduler, workers);

  // Children's choices, so a parent finishing on an engine can hand its mapping on (mapping.ts).
  const chosen = new WeakMap<TxDescriptor, { op: HwOp; chan: Channel }>();
  ctx.chooseChannel = (op, tx) => {
    const chan = scheduler.choose(op, tx);
    if (chan !== null && tx.parent !== null) chosen.set(tx, { op, chan });
    return chan;
  };
  ctx.submitToChannel = (chan, tx, op) => scheduler.submit(chan, tx, op);
  ctx.onInlineRun = (op, ns) => scheduler.inlineRan(op, ns);
  const complete = ctx.onEngineCompletion;
  const carryAndComplete = (tx: TxDescriptor, desc: HwDescriptor): void => {
    const next = tx.child !== null ? chosen.get(tx.child) : undefined;
    const carried = next !== undefined && desc.status === DmaStatus.Complete && carry(desc, next.chan, next.op);
    complete(tx, desc);
    // The child's start was queued by complete(); once it ran, a carry it did not take is freed.
    if (carried) queueMicrotask(() => (desc.channel as WorkerChannel).domain.dropCarry(next.op));
  };
  // The scheduler sees every engine completion first: it fails over errors, and completes the rest.
  ctx.onEngineCompletion = (tx, desc) => scheduler.completed(tx, desc, carryAndComplete);

  const ops = bindOps(ctx);
  const open = <A extends unknown[], R>(fn: string, f: (...a: A) => R) => (...a: A): R => {
    ctx.assertOpen(fn);
    return f(...a);
  };
  let closing: Promise<void> | null = null;
  return {
    ...ops,
    asyncTxIssuePendingAll: open('asyncTxIssuePendingAll', ops.asyncTxIssuePendingAll),
    asyncTxAck: open('asyncTxAck', ops.asyncTxAck),
    waitForAsyncTx: open('waitForAsyncTx', ops.waitForAsyncTx),
    allocBlock: open('allocBlock', (len: number) => arena().allocBlock(len)),
    freeBlock: open('freeBlock', (block: Uint8Array) => arena().freeBlock(block)),
    devices: open('devices', () => registry.devices.map((d) => deviceInfo(d, registry))),
    stats: open('stats', (): EngineStats => {
      // Every worker device in the registry, hot-plugged ones included; they share the arena's domain.
      const devices = registry.devices;
      const engines = devices.map((d) => (d instanceof FaultDevice ? d.inner : d)).filter((d): d is WorkerDevice => d instanceof WorkerDevice);
      const faults = devices.filter((d): d is FaultDevice => d instanceof FaultDevice);
      return {
        ...contextStats(ctx),
        channels: Object.assign({}, ...engines.map((d) => d.stats())) as Record<string, WorkerChannelStats>,
        mapping: { ...arenaDomain(arena()).stats },
        scheduler: scheduler.stats(),
        respawned: engines.reduce((n, d) => n + d.respawned, 0),
        ...(faults.length > 0 ? { faults: Object.fromEntries(faults.map((d) => [d.name, { ...d.counts }])) } : {}),
      };
    }),
    registry,
    close: () => {
      closing ??= (async () => {
        ctx.closed = true;
        await ctx.drain();
        closingClient = true;
        scheduler.close();
        table.close();
        // One at a time, re-reading the list: a failing device may leave it meanwhile.
        for (let d = registry.devices[0]; d !== undefined; d = registry.devices[0]) await registry.unregister(d);
      })();
      return closing;
    },
  };
}

/** Hands a finished step's mapping to its child when both run in the same mapping domain. */
function carry(desc: HwDescriptor, childChan: Channel, childOp: HwOp): boolean {
  const from = desc.channel;
  if (!(from instanceof WorkerChannel) || !(childChan instanceof WorkerChannel) || from.domain !== childChan.domain) return false;
  const m = WorkerChannel.mappingOf(desc);
  if (m === null) return false;
  from.domain.carry(m, childOp);
  return true;
}

function deviceInfo(d: Device, registry: DmaRegistry): DeviceInfo {
  return {
    name: d.name,
    capabilities: capabilityNames(d.capabilities),
    limits: { ...d.limits },
    channels: d.channels.map((c) => ({
      name: c.name,
      inFlight: c.inFlight,
      lastUsed: c.lastUsed,
      lastComplete: c.lastComplete,
      exclusive: registry.isExclusive(c),
    })),
  };
}

/** The scheduler's policy from the options: a function, a fixed threshold, or a named policy. */
function placement(o: CheckedOptions, software: Device): PolicyName | Policy {
  if (typeof o.policy === 'function') {
    const user = o.policy;
    // The contract is "one of the offered channels, or null": anything else fails the
    // descriptor it was asked about (see dispatch in async_tx/submit.ts), not the client.
    return (op, where) => {
      const chan = user(op, where.channels);
      if (chan === null || where.channels.includes(chan)) return chan;
      throw new InvalidArgumentError(`createClient: options.policy returned ${describe(chan)} for ${op.kind}; it must return one of the channels it was given, or null`);
    };
  }
  if (o.policy === 'auto' && o.threshold !== undefined) {
    const fixed = thresholdPolicy('auto', o.threshold, software);
    return (op, where) => fixed(op, where.channels);
  }
  return o.policy;
}

/** Kernel-set operation → the descriptor kind it serves. */
const KERNEL_FOR_KIND: ReadonlyArray<[string, HwOpKind]> = [
  ['memcpy', 'memcpy'], ['memset', 'memset'], ['xor', 'xor'], ['xorIsZero', 'xor_val'], ['genSyndrome', 'pq'],
  ['pqCheck', 'pq_val'], ['recov2Data', 'raid6_2data'], ['recovDataP', 'raid6_datap'],
];

/**
 * Seeds the cost model from the start-up kernel benchmark (the same kernels
 * run inline and in the workers), then measures a doorbell round trip per
 * worker device in the background.
 */
function seedScheduler(scheduler: Scheduler, workers: WorkerDevice | null): void {
  const table = new Map(kernels().map((k) => [k.op as string, k]));
  for (const [kernelOp, kind] of KERNEL_FOR_KIND) {
    const k = table.get(kernelOp);
    const mbps = k?.mbps[k.impl];
    if (mbps === undefined || !(mbps > 0)) continue;
    scheduler.seed(INLINE, kind, mbps / 1000);
    if (workers !== null) scheduler.seed(workers.name, kind, mbps / 1000);
  }
  if (workers !== null) void measureRoundTrip(workers).then((ns) => ns > 0 && scheduler.setOverhead(workers.name, ns));
}

/** Median submit → completion time of an empty descriptor on a device's first channel, ns (0 if it failed). */
async function measureRoundTrip(device: WorkerDevice): Promise<number> {
  const chan = device.channels[0];
  const once = (): Promise<number> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const d = chan.prepare({ kind: 'interrupt' }, (x) => resolve(x.status === DmaStatus.Complete ? (performance.now() - t0) * 1e6 : -1));
      if (d === null) return resolve(-1);
      chan.submit(d);
      chan.issuePending();
    });
  // The first trip includes the thread's start-up.
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) samples.push(await once());
  const good = samples.slice(1).filter((x) => x > 0).sort((a, b) => a - b);
  return good.length > 0 ? good[good.length >> 1] : 0;
}

/** Delays between respawns of dying threads: doubling from 10 ms to 5 s, reset after a quiet minute. */
class Backoff {
  private delay = 0;
  private last = 0;
  next(): number {
    const now = performance.now();
    if (now - this.last > 60_000) this.delay = 0;
    this.last = now;
    this.delay = Math.min(5000, this.delay === 0 ? 10 : this.delay * 2);
    return this.delay;
  }
}
