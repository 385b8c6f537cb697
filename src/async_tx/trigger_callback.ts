/** async_trigger_callback: a descriptor that does nothing but complete after its parent. */
import type { HwOp } from '../dmaengine/index.js';
import type { TxContext } from './context.js';
import { submitStep } from './fast_path.js';
import { checkSubmit, type SubmitCtl, type Tx } from './submit.js';

/**
 * Completes (running `submit.callback`) once `submit.depend`, if any, has completed.
 * @throws UnknownFlagError (Ack, Fence apply), DependencyMisuseError, ClientClosedError.
 */
export function triggerCallback(ctx: TxContext, submit?: SubmitCtl): Tx {
  const fn = 'asyncTriggerCallback';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, 0);

  const op: HwOp = { kind: 'interrupt' };
  return submitStep(ctx, 'interrupt', s, op);
}
