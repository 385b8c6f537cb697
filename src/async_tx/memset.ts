/** async_memset: fill a range with one byte value. */
import type { HwOp } from '../dmaengine/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { TxContext } from './context.js';
import { submitStep } from './fast_path.js';
import { checkSubmit, type SubmitCtl, type Tx } from './submit.js';
import { checkLength, checkOffset, describe, view } from './validate.js';

/**
 * Sets `len` bytes of `dest` from `offset` to `value` (an integer 0..255).
 * @throws InvalidArgumentError, OutOfRangeError, UnknownFlagError (only Ack and Fence apply),
 *   DependencyMisuseError, ClientClosedError.
 */
export function memset(ctx: TxContext, dest: Uint8Array, value: number, offset: number, len: number, submit?: SubmitCtl): Tx {
  const fn = 'asyncMemset';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, 0);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
    throw new InvalidArgumentError(`${fn}: value must be an integer 0..255, got ${describe(value)}`);
  }
  checkLength(fn, len);
  const d = view(fn, 'dest', dest, checkOffset(fn, 'offset', offset), len);

  const op: HwOp = { kind: 'memset', dest: d, value };
  return submitStep(ctx, 'memset', s, op);
}
