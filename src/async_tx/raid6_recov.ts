/** RAID-6 recovery (async_raid6_recov.c): two data blocks, or one data block and P. */
import type { HwOp } from '../dmaengine/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { TxContext } from './context.js';
import { submitStep } from './fast_path.js';
import { checkOutputs, pqViews, splitPQ, type PqBlocks } from './pq.js';
import { checkSubmit, type SubmitCtl, type Tx } from './submit.js';
import { describe, type Offsets } from './validate.js';

/** Checks that `fail` names a present data slot of `views` (pqViews': the data slots, then P and Q). */
function checkFailedSlot(fn: string, name: string, fail: unknown, views: ReadonlyArray<Uint8Array | null>): number {
  const dataSlots = views.length - 2;
  if (typeof fail !== 'number' || !Number.isInteger(fail) || fail < 0 || fail >= dataSlots) {
    throw new InvalidArgumentError(`${fn}: ${name} must be a data slot 0..${dataSlots - 1}, got ${describe(fail)}`);
  }
  if (views[fail] === null) throw new InvalidArgumentError(`${fn}: blocks[${fail}] (${name}) is the block to rebuild and cannot be null`);
  return fail;
}

function requirePQ(fn: string, views: ReadonlyArray<Uint8Array | null>): void {
  if (views[views.length - 2] === null || views[views.length - 1] === null) throw new InvalidArgumentError(`${fn}: P and Q must both be present`);
}

/**
 * Rebuilds data blocks faila and failb (two different data slots) in place
 * from the other data blocks, P and Q. Other `null` data slots are zero blocks.
 * With Pxy, Qxy the syndrome of the data with both slots zeroed (a < b):
 * D_b = inv(g^(b−a) ⊕ 1)·(P⊕Pxy) ⊕ inv(g^a ⊕ g^b)·(Q⊕Qxy), D_a = D_b ⊕ (P⊕Pxy).
 * @throws InvalidArgumentError, OutOfRangeError, OverlapError (the rebuilt blocks may not
 *   overlap any block), UnknownFlagError (Ack, Fence apply), DependencyMisuseError, ClientClosedError.
 */
export function raid6TwoDataRecov(ctx: TxContext, blocks: PqBlocks, faila: number, failb: number, offset: Offsets, len: number, submit?: SubmitCtl): Tx {
  const fn = 'asyncRaid6TwoDataRecov';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, 0);
  const views = pqViews(fn, blocks, offset, len);
  const a = checkFailedSlot(fn, 'faila', faila, views);
  const b = checkFailedSlot(fn, 'failb', failb, views);
  if (a === b) throw new InvalidArgumentError(`${fn}: faila and failb must differ, both are ${a}`);
  requirePQ(fn, views);
  checkOutputs(fn, views, len, a, b);
  const o = splitPQ(views);

  const op: HwOp = { kind: 'raid6_2data', data: o.data, p: o.p!, q: o.q!, faila: a, failb: b };
  return submitStep(ctx, 'raid6_2data', s, op);
}

/**
 * Rebuilds data block faila and P in place from the other data blocks and Q:
 * D_a = g^(−a)·(Q⊕Q'), P = P'⊕D_a, where P', Q' are the syndrome with slot a zeroed.
 * P's contents on entry are ignored.
 * @throws InvalidArgumentError, OutOfRangeError, OverlapError, UnknownFlagError (Ack, Fence apply),
 *   DependencyMisuseError, ClientClosedError.
 */
export function raid6DatapRecov(ctx: TxContext, blocks: PqBlocks, faila: number, offset: Offsets, len: number, submit?: SubmitCtl): Tx {
  const fn = 'asyncRaid6DatapRecov';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, 0);
  const views = pqViews(fn, blocks, offset, len);
  const a = checkFailedSlot(fn, 'faila', faila, views);
  requirePQ(fn, views);
  checkOutputs(fn, views, len, a, views.length - 2);
  const o = splitPQ(views);

  const op: HwOp = { kind: 'raid6_datap', data: o.data, p: o.p!, q: o.q!, faila: a };
  return submitStep(ctx, 'raid6_datap', s, op);
}
