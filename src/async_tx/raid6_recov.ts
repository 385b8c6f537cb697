/** RAID-6 recovery (async_raid6_recov.c): two data blocks, or one data block and P. */
import type { HwOp } from '../dmaengine/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { TxContext } from './context.js';
import { checkOutputs, pqOperands, type PqBlocks } from './pq.js';
import { beginTx, checkSubmit, dispatch, type SubmitCtl, type Tx } from './submit.js';
import { describe, type Offsets } from './validate.js';

function checkFailedSlot(fn: string, name: string, fail: unknown, dataSlots: number, data: Array<Uint8Array | null>): number {
  if (typeof fail !== 'number' || !Number.isInteger(fail) || fail < 0 || fail >= dataSlots) {
    throw new InvalidArgumentError(`${fn}: ${name} must be a data slot 0..${dataSlots - 1}, got ${describe(fail)}`);
  }
  if (data[fail] === null) throw new InvalidArgumentError(`${fn}: blocks[${fail}] (${name}) is the block to rebuild and cannot be null`);
  return fail;
}

function requirePQ(fn: string, p: Uint8Array | null, q: Uint8Array | null): { p: Uint8Array; q: Uint8Array } {
  if (p === null || q === null) throw new InvalidArgumentError(`${fn}: P and Q must both be present`);
  return { p, q };
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
  const o = pqOperands(fn, blocks, offset, len);
  const a = checkFailedSlot(fn, 'faila', faila, o.data.length, o.data);
  const b = checkFailedSlot(fn, 'failb', failb, o.data.length, o.data);
  if (a === b) throw new InvalidArgumentError(`${fn}: faila and failb must differ, both are ${a}`);
  const { p, q } = requirePQ(fn, o.p, o.q);
  checkOutputs(fn, o.views, [a, b]);

  const op: HwOp = { kind: 'raid6_2data', data: o.data, p, q, faila: a, failb: b };
  return dispatch(ctx, beginTx(ctx, 'raid6_2data', s), op);
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
  const o = pqOperands(fn, blocks, offset, len);
  const a = checkFailedSlot(fn, 'faila', faila, o.data.length, o.data);
  const { p, q } = requirePQ(fn, o.p, o.q);
  checkOutputs(fn, o.views, [a, o.views.length - 2]);

  const op: HwOp = { kind: 'raid6_datap', data: o.data, p, q, faila: a };
  return dispatch(ctx, beginTx(ctx, 'raid6_datap', s), op);
}
