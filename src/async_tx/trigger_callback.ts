/** async_trigger_callback: a descriptor that does nothing but complete after its parent. */
import type { HwOp } from '../dmaengine/index.js';
import type { TxContext } from './context.js';
import { beginTx, checkSubmit, offload, runSynchronously, type SubmitCtl, type Tx } from './submit.js';

/**
 * Completes (running `submit.callback`) once `submit.depend`, if any, has completed.
 * @throws UnknownFlagError (Ack, Fence apply), DependencyMisuseError, ClientClosedError.
 */
export function triggerCallback(ctx: TxContext, submit?: SubmitCtl): Tx {
  const fn = 'asyncTriggerCallback';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, 0);

  const op: HwOp = { kind: 'interrupt' };
  const tx = beginTx(ctx, 'interrupt', s);
  const chan = ctx.chooseChannel(op, tx);
  if (chan !== null && offload(chan, tx, op)) return tx;
  return runSynchronously(tx, op);
}
