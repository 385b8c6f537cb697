/**
 * The provider API's channel and descriptor: what a driver implements and
 * what the core hands work to. A channel completes its descriptors in the
 * order they were submitted (dmaengine's rule), reporting each one's status
 * through `complete`.
 */
import type { Mapping, MappingDomain } from '../mem/mapping.js';
import type { CapabilityMask } from './capability.js';
import { DmaStatus, isComplete, nextCookie } from './cookie.js';
import type { HwOp } from './operation.js';

/** Limits a device declares; the core never prepares work outside them. */
export interface DeviceLimits {
  /** Most source blocks in one xor or pq descriptor. */
  readonly maxSources: number;
  /** Required byte alignment of every block's address (1 = any). */
  readonly alignment: number;
}

/** A device: an engine with capabilities and one or more channels. */
export interface Device {
  readonly name: string;
  readonly capabilities: CapabilityMask;
  readonly limits: DeviceLimits;
  readonly channels: readonly Channel[];
  /** The device's own counters, as plain data, when it keeps any (a client's stats() gathers them). */
  stats?(): DeviceStats;
  /**
   * Ends the device's channels. Work already submitted completes first where
   * the engine can finish it (the worker engine issues and drains it), or
   * completes with an error status where it cannot; never left pending.
   */
  close(): Promise<void>;
}

/**
 * Counters of one queued channel. An engine that has no ring or no doorbell
 * of its own (it runs at once) keeps the fields that apply and leaves the rest at 0.
 */
export interface ChannelStats {
  submitted: number;
  completed: number;
  /** Times queued work was handed to the engine. */
  doorbells: number;
  /** Times the engine had to be woken from idle. */
  wakeups: number;
  /** Completion notices the client handled (each may reap many descriptors). */
  notices: number;
  /** Descriptors that found the ring full and waited (backpressure). */
  ringFull: number;
}

/** What a fault-injecting device did to the descriptors it saw. */
export interface FaultCounts {
  failed: number;
  delayed: number;
  crashed: number;
  passed: number;
}

/** What `Device.stats()` reports; every part is optional. */
export interface DeviceStats {
  /** Per channel, by channel name (a wrapping device reports its inner device's). */
  readonly channels?: Readonly<Record<string, ChannelStats>>;
  /** Channels started in place of ones that failed. */
  readonly respawned?: number;
  /** Faults injected on purpose (the fault device). */
  readonly faults?: FaultCounts;
}

/** Called once when a descriptor reaches a final status. */
export type CompletionHandler = (desc: HwDescriptor) => void;

/** One unit of work on a channel. Cookies are per channel, from 1, wrapping to 1. */
export class HwDescriptor {
  cookie = 0;
  status: DmaStatus = DmaStatus.InProgress;
  /** SumCheck bits for validate operations. */
  result = 0;
  error: Error | undefined;
  /** How long the engine spent running it, ns, when the engine measures that (0: unknown). */
  serviceNs = 0;
  constructor(
    readonly op: HwOp,
    readonly channel: Channel,
    readonly onComplete: CompletionHandler,
    /**
     * How the engine reaches the operation's blocks, when it bounced any into
     * its channel's domain (null: every block used in place, or no domain).
     */
    readonly mapping: Mapping | null = null,
  ) {}
}

export abstract class Channel {
  /** Cookie of the last descriptor submitted (0 before the first). */
  lastUsed = 0;
  /** Cookie of the last descriptor completed. */
  lastComplete = 0;
  /** Descriptors submitted and not yet completed. */
  inFlight = 0;
  /**
   * The mapping domain the engine reaches memory through, or null when it
   * uses every buffer in place (the software path) or maps nothing itself.
   * Steps of one chain on channels of the same domain map once (mem/mapping.ts).
   */
  readonly domain: MappingDomain | null = null;

  constructor(
    readonly device: Device,
    /** Index of this channel within its device. */
    readonly index: number,
  ) {}

  get name(): string {
    return `${this.device.name}/${this.index}`;
  }

  /**
   * Prepares a descriptor for `op`, or returns null when this channel cannot
   * run it (a capability or limit it lacks): the caller then falls back.
   */
  prepare(op: HwOp, onComplete: CompletionHandler): HwDescriptor | null {
    return this.accepts(op) ? new HwDescriptor(op, this, onComplete) : null;
  }

  /**
   * Prepares `op` to run after `parent`, a descriptor submitted earlier on this
   * channel and not yet complete, without waiting for it: the channel holds the
   * step back until the parent completed, and fails it unrun with a
   * DependencyFailedError if the parent failed (the core then runs it again once
   * the parent is final). This is how a chain reaches an engine with one doorbell.
   * Null (the default) when the channel cannot: the core waits for the parent.
   */
  prepareAfter(_op: HwOp, _onComplete: CompletionHandler, _parent: HwDescriptor): HwDescriptor | null {
    return null;
  }

  /** Whether the channel can run `op` at all. */
  abstract accepts(op: HwOp): boolean;

  /** Queues a prepared descriptor and gives it its cookie; it runs after issuePending. */
  submit(desc: HwDescriptor): number {
    this.lastUsed = nextCookie(this.lastUsed);
    desc.cookie = this.lastUsed;
    this.inFlight++;
    this.enqueue(desc);
    return desc.cookie;
  }

  /** Driver hook: take a descriptor into the channel's queue. */
  protected abstract enqueue(desc: HwDescriptor): void;

  /** Rings the doorbell: starts everything queued. */
  abstract issuePending(): void;

  /**
   * Fails every descriptor queued and not yet started, with `error`
   * (dmaengine_terminate_all). Channels that run at once have nothing to fail.
   */
  terminateAll(_error?: Error): void {}

  /**
   * Stops the engine behind this channel at once (fault injection, a timed-out
   * descriptor): everything outstanding fails with `error`. Resolves only once
   * nothing the engine was running can write memory any more, so work re-run
   * elsewhere is never overwritten by a late result. Channels that run inline
   * have nothing running between calls, so they only fail what is queued.
   */
  async kill(error: Error): Promise<void> {
    this.terminateAll(error);
  }

  /** Status of a cookie on this channel (dma_async_is_tx_complete). */
  status(cookie: number): DmaStatus {
    return isComplete(cookie, this.lastComplete, this.lastUsed);
  }

  /** Driver hook: a descriptor finished. Updates the channel's cookies, then tells the core. */
  protected complete(desc: HwDescriptor, status: DmaStatus, result = 0, error?: Error): void {
    desc.status = status;
    desc.result = result;
    desc.error = error;
    this.lastComplete = desc.cookie;
    this.inFlight--;
    desc.onComplete(desc);
  }
}
