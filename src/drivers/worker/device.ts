/**
 * The worker device: an engine whose channels are worker threads sharing the
 * arena. Threads start once, with the device (each takes some tens of
 * milliseconds to come up; work submitted meanwhile waits in its ring), and
 * never keep the process alive by themselves. `close()` ends them.
 */
import {
  arena as defaultArena, arenaDomain, Capability, InvalidArgumentError, MIN_SCRATCH_BYTES, OperationError,
  type Arena, type Device, type DeviceLimits, type DeviceStats, type MappingDomain,
} from '../../provider.js';
import { WorkerChannel, type WorkerChannelOptions } from './channel.js';
import { MAX_BLOCKS } from './protocol.js';

export interface WorkerDeviceOptions extends Partial<WorkerChannelOptions> {
  /** Worker threads, one channel each (≥ 1). */
  readonly channels: number;
  /** Device name, unique in a registry (default "worker"). */
  readonly name?: string;
  /** The arena the threads run on (default: this thread's arena). */
  readonly arena?: Arena;
  /** Called when a channel's thread fails; its outstanding work has failed with `error`. */
  readonly onChannelFailed?: (chan: WorkerChannel, error: Error) => void;
  /** How the caller names these options in error messages (default "worker device"). */
  readonly optionsName?: string;
}

/**
 * Defaults: a ring deep enough for a RAID stripe batch, a doorbell per 16, a notice per 16 (and
 * when one descriptor is left, so a client keeping the ring fed refills before it runs dry).
 */
export const WORKER_DEFAULTS: WorkerChannelOptions = { capacity: 256, batch: 16, moderation: 16, lowWater: 1, spinUs: 50 };

export class WorkerDevice implements Device {
  readonly name: string;
  readonly capabilities =
    Capability.Memcpy | Capability.Memset | Capability.Xor | Capability.XorVal | Capability.Pq | Capability.PqVal | Capability.Interrupt | Capability.Io;
  /** A descriptor's block list holds dest + 255 sources, or 253 data slots + P + Q. */
  readonly limits: DeviceLimits = { maxSources: MAX_BLOCKS - 1, alignment: 1 };
  readonly channels: readonly WorkerChannel[];
  /** Threads started in place of failed ones. */
  respawned = 0;
  private readonly opts: WorkerChannelOptions;
  private readonly onFailed: (chan: WorkerChannel, error: Error) => void;
  /** The mapping domain its channels share (the arena's): chains across them map once. */
  readonly domain: MappingDomain;
  private readonly scratch: Uint8Array[] = [];
  private closed: Promise<void> | null = null;

  /**
   * @throws InvalidArgumentError naming the option when channels or a tuning value is out of range.
   * @throws ArenaExhaustedError when the arena has no room for the threads' scratch.
   */
  constructor(options: WorkerDeviceOptions) {
    const opts = { ...WORKER_DEFAULTS, ...options };
    checkOptions(opts, options.optionsName ?? 'worker device');
    this.opts = opts;
    this.onFailed = (c, e) => options.onChannelFailed?.(c, e);
    this.name = options.name ?? 'worker';
    const mem = options.arena ?? defaultArena();
    this.domain = arenaDomain(mem);
    const channels: WorkerChannel[] = [];
    try {
      for (let i = 0; i < opts.channels; i++) {
        const scratch = mem.allocBlock(MIN_SCRATCH_BYTES);
        this.scratch.push(scratch);
        channels.push(new WorkerChannel(this, i, this.domain, scratch, opts, this.onFailed));
      }
    } catch (err) {
      for (const c of channels) void c.close(true);
      throw err;
    }
    this.channels = channels;
  }

  /**
   * Starts a new thread in place of a failed channel, with the same index and
   * scratch block, once the old thread has exited (so nothing it ran can touch
   * the scratch any more). Returns the new channel; the registry must be
   * refreshed to put it in the table. Null when the device is closed or the
   * channel is not one of its failed ones.
   */
  async respawn(failed: WorkerChannel): Promise<WorkerChannel | null> {
    const i = this.channels.indexOf(failed);
    if (i < 0 || failed.failed === null || this.closed !== null) return null;
    await failed.whenExited();
    if (this.closed !== null || this.channels[i] !== failed) return null;
    const next = new WorkerChannel(this, failed.index, this.domain, this.scratch[i], this.opts, this.onFailed);
    (this.channels as WorkerChannel[])[i] = next;
    this.respawned++;
    return next;
  }

  /** Counters per channel, and how many threads were respawned. */
  stats(): DeviceStats {
    return { channels: Object.fromEntries(this.channels.map((c) => [c.name, { ...c.stats }])), respawned: this.respawned };
  }

  /**
   * Ends every thread. Graceful (default): work already submitted is issued
   * and completes first. `force`: threads end at once and their unfinished
   * work fails with an OperationError saying so. Idempotent.
   */
  close(force = false): Promise<void> {
    this.closed ??= (async () => {
      await Promise.all(this.channels.map((c) => c.close(force)));
      // Only now no thread can touch the scratch blocks.
      for (const s of this.scratch.splice(0)) this.domain.arena.freeBlock(s);
    })();
    return this.closed;
  }

  /** Fails, on every channel, what was not yet handed to a thread. */
  terminateAll(error?: Error): void {
    for (const c of this.channels) c.terminateAll(error ?? new OperationError(`${c.name}: terminated before it was issued`));
  }
}

function checkOptions(o: WorkerChannelOptions & { channels: number }, where: string): void {
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(`${where}: ${name} must be an integer ${min}..${max}, got ${v}`);
  };
  int('channels', o.channels, 1, 256);
  int('capacity', o.capacity, 2, 65536);
  if ((o.capacity & (o.capacity - 1)) !== 0) throw new InvalidArgumentError(`${where}: capacity must be a power of two, got ${o.capacity}`);
  int('batch', o.batch, 1, o.capacity);
  int('moderation', o.moderation, 1, 1 << 20);
  int('lowWater', o.lowWater, 0, o.capacity);
  int('spinUs', o.spinUs, 0, 1_000_000);
}
