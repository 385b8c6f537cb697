/**
 * The synchronous fast path. A kernel step that would run inline at once anyway —
 * no parent still running, and a placement sure to keep it on the synchronous path
 * whatever its descriptor (Placement.inlineNow) — runs here with no engine
 * descriptor, no completion closure and no channel queue: the software channel
 * runs the kernel, and the descriptor is final before this returns, with the cookie,
 * counters, result, error and callback the general path (dispatch) gives it; and the
 * op's list of blocks goes back to be lent again (operand_lists.ts).
 * Every other step takes the general path.
 */
import { performance } from 'node:perf_hooks';
import { DmaStatus, isIoOp, opSourceBytes, type HwOp } from '../dmaengine/index.js';
import type { TxContext } from './context.js';
import { returnOpList } from './operand_lists.js';
import { beginTx, dispatch, timeInline, TxDescriptor, type CheckedSubmit, type Tx } from './submit.js';

/** Starts a checked step `name` running `op`: on the fast path where it can, else on the general one. */
export function submitStep(ctx: TxContext, name: string, s: CheckedSubmit, op: HwOp): Tx {
  const parent = s.parent;
  if ((parent !== null && parent.status !== DmaStatus.Complete) || isIoOp(op) || !inlineNow(ctx, op)) {
    return dispatch(ctx, beginTx(ctx, name, s), op);
  }
  const tx = new TxDescriptor(ctx, name, s.flags, parent, s.callback);
  if (parent !== null) {
    // As beginTx: the parent takes this child and is acknowledged by it.
    parent.child = tx;
    parent.acked = true;
  }
  tx.bytes = opSourceBytes(op);
  runNow(ctx, tx, op);
  returnOpList(op);
  return tx;
}

/**
 * Whether the placement is sure to keep `op` inline. One that throws (a device's accepts()
 * may) sends the step the general way, where choose() meeting the same throw fails the
 * step with an OperationError instead of throwing at the caller.
 */
function inlineNow(ctx: TxContext, op: HwOp): boolean {
  try {
    return ctx.placement.inlineNow?.(op, ctx) === true;
  } catch {
    return false;
  }
}

/** Runs `tx`'s kernel on the software channel now and completes it (complete(), counted as one step that never waited). */
function runNow(ctx: TxContext, tx: TxDescriptor, op: HwOp): void {
  const chan = ctx.softwareChannel;
  const timed = timeInline(tx.bytes);
  const t0 = timed ? performance.now() : 0;
  let result = 0;
  let error: Error | undefined;
  try {
    result = chan.runNow(op);
  } catch (err) {
    error = err as Error;
  }
  tx.cookie = chan.lastUsed;
  tx.channel = ctx.softwareName;
  tx.settle(error === undefined ? DmaStatus.Complete : DmaStatus.Error, result, error);
  ctx.noteRanNow(tx);
  tx.notify();
  if (timed) ctx.placement.ranInline(op, (performance.now() - t0) * 1e6);
}
