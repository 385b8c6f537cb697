/**
 * `createClient`: the composition root. A client is a TxContext placed by a
 * scheduler (cost model, policy, failover: src/sched), with the consumer API
 * bound to it, its own device registry (the software path, and a worker
 * device with N threads, wrapped in the fault device when asked), and a
 * channel table attached to that registry. Options are checked in
 * client_options.ts; everything here reaches engines through the provider API.
 */
import { bindOps, contextStats, type AsyncTxOps, type ClientStats } from './async_tx/client.js';
import { TxContext } from './async_tx/context.js';
import { capabilityNames, DmaRegistry, type ChannelClient, type ChannelStats, type Device, type DeviceLimits, type DeviceStats, type FaultCounts } from './dmaengine/index.js';
import { FaultDevice } from './drivers/fault/index.js';
import { WorkerDevice } from './drivers/worker/index.js';
import { arena } from './mem/arena.js';
import { arenaDomain, type MappingStats } from './mem/mapping.js';
import { Scheduler, type SchedulerStats } from './sched/scheduler.js';
import { seedScheduler } from './sched/seed.js';
import { checkOptions, type CheckedOptions, type ClientOptions } from './client_options.js';

export type { ClientOptions } from './client_options.js';
export type { PlacementContext, Policy, PolicyName } from './sched/policy.js';

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
 * What `stats()` reports: the per-operation counters, each engine channel's
 * (what its device reports), the mapping layer's, and the scheduler's (per channel: operations, bytes, errors,
 * failovers, timeouts, queue high-water mark, busy time; per operation:
 * failovers; the cost model's current figures).
 */
export interface EngineStats extends ClientStats {
  /** Each engine channel's own counters (Device.stats), by channel name. */
  readonly channels: Record<string, ChannelStats>;
  /** The arena mapping domain's counters: shared by every client of this thread's arena (chains map once across them). */
  readonly mapping: MappingStats;
  readonly scheduler: SchedulerStats;
  /** Worker threads (engine channels) started in place of ones that died. */
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

let clients = 0;

/**
 * Creates a client with its own engines.
 * @param options see ClientOptions: workers, policy, offloadThreshold, engine, timeoutMs, faults
 * @throws InvalidArgumentError naming the option that is wrong (a bad engine tuning value included).
 * @throws ArenaExhaustedError / ArenaConfigError when the shared arena cannot hold the workers' scratch.
 */
export function createClient(options: ClientOptions = {}): AsyncTxClient {
  const o = checkOptions(options);
  const registry = new DmaRegistry();
  // The scheduler reads the table only when asked to place a step, by then attached below.
  const scheduler = new Scheduler((kind) => table.channelsFor(kind), { policy: o.policy, timeoutMs: o.timeoutMs });
  const ctx = new TxContext(`client#${++clients}`, scheduler);
  registry.register(ctx.software, { priority: -1 });
  let closingClient = false;
  const workers = startWorkers(o, registry, () => closingClient);
  const table: ChannelClient = registry.attach();
  seedScheduler(scheduler, workers === null ? [] : [workers]);

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
      const { channels, respawned, faults } = deviceStats(registry.devices);
      const mapping = { ...arenaDomain(arena()).stats };
      return { ...contextStats(ctx), channels, mapping, scheduler: scheduler.stats(), respawned, ...(faults !== undefined ? { faults } : {}) };
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

/**
 * Starts the worker device (none for `workers: 0`) and registers it, wrapped
 * in the fault device when faults are asked for. A thread that dies is
 * replaced — its work has failed over already — with back-off if it keeps dying.
 */
function startWorkers(o: CheckedOptions, registry: DmaRegistry, closing: () => boolean): WorkerDevice | null {
  if (o.workers === 0) return null;
  const respawns = new Backoff();
  const workers: WorkerDevice = new WorkerDevice({
    ...o.engine,
    optionsName: 'createClient: options.engine',
    channels: o.workers,
    onChannelFailed: (chan) => {
      if (closing()) return;
      setTimeout(() => {
        void workers.respawn(chan).then((fresh) => {
          if (fresh !== null && !closing()) registry.refresh();
        });
      }, respawns.next()).unref();
    },
  });
  registry.register(o.faults !== undefined ? new FaultDevice(workers, o.faults) : workers);
  return workers;
}

/** The devices' own counters (Device.stats) gathered: every registered one, hot-plugged ones included. */
function deviceStats(devices: readonly Device[]): Pick<EngineStats, 'channels' | 'respawned' | 'faults'> {
  const channels: Record<string, ChannelStats> = {};
  const faults: Record<string, FaultCounts> = {};
  let respawned = 0;
  for (const d of devices) {
    const s: DeviceStats = d.stats?.() ?? {};
    Object.assign(channels, s.channels);
    respawned += s.respawned ?? 0;
    if (s.faults !== undefined) faults[d.name] = { ...s.faults };
  }
  return { channels, respawned, faults: Object.keys(faults).length > 0 ? faults : undefined };
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
