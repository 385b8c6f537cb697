/**
 * Placement policies: small functions from an operation and its candidate
 * channels to a channel, or null for the inline path (STYLE 12).
 * 'auto' weighs estimated completion time plus the main thread's own time —
 * inline work blocks the event loop, offloaded work costs the main thread
 * only the hand-off — and keeps a chain on its parent's channel when that is
 * not slower, so chains do not ping-pong between engines.
 */
import { opSourceBytes, type Channel, type HwOp } from '../dmaengine/index.js';
import type { CostModel } from './cost.js';

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

export type Policy = (op: HwOp, where: PlacementContext) => Channel | null;

/** Engine name the cost model files a channel's figures under. */
export const INLINE = 'inline';
export function engineOf(chan: Channel): string {
  return chan.device.name;
}

/** A chain stays on its parent's channel unless another is at least this much better. */
const STICKY = 1.1;

export interface AutoOptions {
  /** How much a nanosecond of main-thread time counts against completion time (default 1). */
  readonly mainThreadWeight?: number;
  /** Main-thread ns to submit and reap one offloaded descriptor (measured; default 3000). */
  readonly handoffNs?: () => number;
}

/** Estimated cost of running `op` on `chan` (completion time + weighted main-thread time). */
export function offloadCost(model: CostModel, op: HwOp, chan: Channel, where: PlacementContext, weight: number, handoffNs: number): number {
  const engine = engineOf(chan);
  return where.queuedNs(chan) + model.overheadNs(engine) + model.serviceNs(engine, op.kind, opSourceBytes(op)) + weight * handoffNs;
}

export function autoPolicy(model: CostModel, options: AutoOptions = {}): Policy {
  const weight = options.mainThreadWeight ?? 4;
  const handoff = options.handoffNs ?? (() => 3000);
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
      if (offloadCost(model, op, parent, where, weight, h) <= bestCost * STICKY) return parent;
    }
    return best;
  };
}

/** Always the least-loaded engine (by estimated queued work), never inline unless none is capable. */
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

export const inlinePolicy: Policy = () => null;
