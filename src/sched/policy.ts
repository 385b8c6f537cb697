/**
 * Placement policies, the one family (STYLE 12): small functions from an
 * operation and its candidate channels to a channel, or null for the inline
 * path. 'auto' weighs estimated completion time plus the main thread's own
 * time — inline work blocks the event loop, offloaded work costs the main
 * thread only the hand-off — and keeps a chain on its parent's channel when
 * that is not slower, so chains do not ping-pong between engines.
 */
import { describe } from '../async_tx/validate.js';
import { opSourceBytes, type Channel, type HwOp } from '../dmaengine/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { CostModel } from './cost.js';

/** How a client places operations: by cost ('auto'), always inline, or always on an engine. */
export type PolicyName = 'auto' | 'inline' | 'offload';

/** What a policy knows besides the operation. */
export interface PlacementContext {
  /** Capable channels, software path excluded, devices already tried excluded. */
  readonly channels: readonly Channel[];
  /** The channel the parent ran on, if it ran on an engine. */
  readonly parentChannel: Channel | null;
  /** Estimated ns of work queued ahead on a channel. */
  queuedNs(chan: Channel): number;
}

/** Picks one of `where.channels` for `op`, or null for the inline path. */
export type Policy = (op: HwOp, where: PlacementContext) => Channel | null;

/** The scheduler's defaults, each with the reason for its value. */
export const PLACEMENT_DEFAULTS = {
  /**
   * How much a nanosecond of main-thread time counts against a nanosecond of
   * waiting: inline work blocks the event loop — every timer, socket and
   * callback of the process waits behind it — so it costs more than the same
   * time spent on another thread. This is the one value the scheduler runs
   * with (the README's "main-thread time weighs 8×"); policy tests pass their own.
   */
  mainThreadWeight: 8,
  /** Main-thread ns to hand one descriptor to an engine and reap it. */
  handoffNs: 3_000,
  /** An engine's per-descriptor overhead until its round trip is measured: a doorbell, a wake-up and a notice. */
  overheadNs: 30_000,
  /** A chain stays on its parent's channel unless another is at least this much better (no ping-pong). */
  sticky: 1.1,
  /** An engine descriptor outstanding this long (ms) fails over: far beyond any kernel's time, short of a hang. */
  timeoutMs: 10_000,
} as const;

/** Engine name the cost model files the inline path's figures under. */
export const INLINE = 'inline';
/** Engine name the cost model files a channel's figures under. */
export function engineOf(chan: Channel): string {
  return chan.device.name;
}

export interface AutoOptions {
  /** How much a nanosecond of main-thread time counts against completion time (PLACEMENT_DEFAULTS). */
  readonly mainThreadWeight?: number;
  /** Main-thread ns to submit and reap one offloaded descriptor (PLACEMENT_DEFAULTS). */
  readonly handoffNs?: () => number;
}

/** Estimated cost of running `op` on `chan` (completion time + weighted main-thread time). */
export function offloadCost(model: CostModel, op: HwOp, chan: Channel, where: PlacementContext, weight: number, handoffNs: number): number {
  const engine = engineOf(chan);
  return where.queuedNs(chan) + model.overheadNs(engine) + model.serviceNs(engine, op.kind, opSourceBytes(op)) + weight * handoffNs;
}

/** 'auto': the cheapest of inline and every channel by the cost model, preferring the parent's channel. */
export function autoPolicy(model: CostModel, options: AutoOptions = {}): Policy {
  const weight = options.mainThreadWeight ?? PLACEMENT_DEFAULTS.mainThreadWeight;
  const handoff = options.handoffNs ?? (() => PLACEMENT_DEFAULTS.handoffNs);
  return (op, where) => {
    const bytes = opSourceBytes(op);
    const inline = model.serviceNs(INLINE, op.kind, bytes) * (1 + weight);
    const h = handoff();
    let best: Channel | null = null;
    let bestCost = inline;
    for (const c of where.channels) {
      const cost = offloadCost(model, op, c, where, weight, h);
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
      }
    }
    const parent = where.parentChannel;
    if (best !== null && parent !== null && parent !== best && where.channels.includes(parent)) {
      if (offloadCost(model, op, parent, where, weight, h) <= bestCost * PLACEMENT_DEFAULTS.sticky) return parent;
    }
    return best;
  };
}

/** 'offload': the least-loaded engine (by estimated queued work, the parent's on a tie), never inline unless none is capable. */
export function offloadPolicy(): Policy {
  return (_op, where) => {
    let best: Channel | null = null;
    let bestNs = Infinity;
    const parent = where.parentChannel;
    for (const c of where.channels) {
      const ns = where.queuedNs(c) - (c === parent ? 1 : 0);
      if (ns < bestNs) {
        best = c;
        bestNs = ns;
      }
    }
    return best;
  };
}

/** 'inline': never offloads. */
export const inlinePolicy: Policy = () => null;

/**
 * 'auto' fixed to a size rule (the client's offloadThreshold): operations
 * reading at least `threshold` source bytes go to the channel with the fewest
 * descriptors outstanding (ties: table order), smaller ones run inline.
 */
export function thresholdPolicy(threshold: number): Policy {
  return (op, where) => {
    if (opSourceBytes(op) < threshold) return null;
    let best: Channel | null = null;
    for (const c of where.channels) if (best === null || c.inFlight < best.inFlight) best = c;
    return best;
  };
}

/**
 * A caller's policy held to its contract — one of the offered channels, or
 * null: any other answer throws, which fails the descriptor it was asked
 * about (see dispatch in async_tx/submit.ts), not the client.
 * @param where how messages name the policy ("createClient: options.policy")
 */
export function checkedPolicy(policy: Policy, where: string): Policy {
  return (op, at) => {
    const chan = policy(op, at);
    if (chan === null || at.channels.includes(chan)) return chan;
    throw new InvalidArgumentError(`${where} returned ${describe(chan)} for ${op.kind}; it must return one of the channels it was given, or null`);
  };
}
