/**
 * Core-private: the one seam between the core and whoever places its steps.
 * A TxContext is constructed with a Placement; the core asks it where a step
 * runs, hands steps to channels through it, and tells it what completed and
 * what ran inline. The default here keeps everything on the synchronous path;
 * the scheduler (src/sched) implements the same interface with a cost model
 * and failover.
 *
 * Also here, once: handing a step to a channel, and finishing a step an
 * engine completed — including the mapping hand-off along a chain (DESIGN §1,
 * lesson 3), expressed in the provider API only (a descriptor's mapping, a
 * channel's domain).
 */
import { DmaStatus, type Channel, type HwDescriptor, type HwOp } from '../dmaengine/index.js';
import type { TxContext } from './context.js';
import type { TxDescriptor } from './submit.js';

/** Where a context's steps run, and what it is told as they run. */
export interface Placement {
  /**
   * The engine channel for `op`, or null to run it on the synchronous path.
   * A throw fails the descriptor it was asked about (nothing is written).
   */
  choose(op: HwOp, tx: TxDescriptor): Channel | null;
  /**
   * True only when choose(op, ·) is sure to return null for any descriptor: the step may
   * then take the synchronous fast path (fast_path.ts). Absent: every step is chosen for.
   */
  inlineNow?(op: HwOp, ctx: TxContext): boolean;
  /**
   * Hands a step to `chan` (prepare, submit); false when the channel refuses
   * it at prepare, and the step then runs inline.
   */
  submit(chan: Channel, tx: TxDescriptor, op: HwOp): boolean;
  /**
   * Hands a step whose parent has not completed to the parent's channel at once, queued
   * behind it (Channel.prepareAfter); false when that cannot be done, and the step then
   * waits for its parent as usual.
   */
  chain(chan: Channel, tx: TxDescriptor, op: HwOp, parent: HwDescriptor): boolean;
  /** An engine reported `desc` final: complete `tx` (or run it again elsewhere). */
  completed(tx: TxDescriptor, desc: HwDescriptor): void;
  /**
   * The synchronous path ran `op` in `ns` nanoseconds (a sample of the steps, not every one).
   * It must not keep `op`: on the fast path its lists are lent again once this returns.
   */
  ranInline(op: HwOp, ns: number): void;
}

/**
 * Prepares `op` on `chan` (behind `after` when given: Channel.prepareAfter) and
 * submits it for `tx`; completions go to the context's placement. `noting` runs between prepare and submit: bookkeeping
 * that must exist before the engine can complete the descriptor (a channel
 * may complete it inside submit). Returns the descriptor, or null when the
 * channel refused it at prepare (nothing was submitted).
 */
export function handToChannel(chan: Channel, tx: TxDescriptor, op: HwOp, noting?: () => void, after: HwDescriptor | null = null): HwDescriptor | null {
  const onComplete = (d: HwDescriptor): void => tx.ctx.placement.completed(tx, d);
  const desc = after === null ? chan.prepare(op, onComplete) : chan.prepareAfter(op, onComplete, after);
  if (desc === null) return null;
  noting?.();
  tx.hw = desc;
  tx.channel = chan.name;
  tx.cookie = chan.submit(desc);
  tx.ctx.noteQueued(chan);
  return desc;
}

/**
 * Completes `tx` with what its engine reported. When the step succeeded and
 * its child is bound for a channel in the same mapping domain, the step's
 * mapping is carried to the child first (the child's map reuses its bounce
 * blocks); a carry the child did not take is dropped once the child started.
 */
export function completeFromEngine(tx: TxDescriptor, desc: HwDescriptor): void {
  const dropCarry = desc.status === DmaStatus.Complete ? carryToChild(tx, desc) : null;
  tx.cookie = desc.cookie;
  tx.complete(desc.status, desc.result, desc.error);
  // The child's start was queued by complete(); this runs after it.
  if (dropCarry !== null) queueMicrotask(dropCarry);
}

/** Carries a finished step's mapping to its child when both are in one domain; returns how to end the carry. */
function carryToChild(tx: TxDescriptor, desc: HwDescriptor): (() => void) | null {
  const next = tx.child?.bound ?? null;
  const domain = desc.channel.domain;
  if (next === null || domain === null || desc.mapping === null || next.chan.domain !== domain) return null;
  domain.carry(desc.mapping, next.op);
  return () => domain.dropCarry(next.op);
}

/** The default: every step on the synchronous path; nothing to learn. */
export const INLINE_ONLY: Placement = {
  choose: () => null,
  inlineNow: () => true,
  submit: (chan, tx, op) => handToChannel(chan, tx, op) !== null,
  chain: () => false,
  completed: completeFromEngine,
  ranInline: () => {},
};
