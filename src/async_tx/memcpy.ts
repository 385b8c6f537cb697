/** async_memcpy: copy bytes between buffers (async_memcpy.c). */
import type { HwOp } from '../dmaengine/index.js';
import type { TxContext } from './context.js';
import { submitStep } from './fast_path.js';
import { checkSubmit, type SubmitCtl, type Tx } from './submit.js';
import { OverlapError } from '../errors.js';
import { checkLength, checkOffset, overlapsAt, view } from './validate.js';

/**
 * Copies `len` bytes from `src[srcOffset…]` to `dest[destOffset…]`.
 * @throws InvalidArgumentError, OutOfRangeError, OverlapError (the ranges may not overlap),
 *   UnknownFlagError (only Ack and Fence apply), DependencyMisuseError, ClientClosedError.
 */
export function memcpy(
  ctx: TxContext,
  dest: Uint8Array,
  src: Uint8Array,
  destOffset: number,
  srcOffset: number,
  len: number,
  submit?: SubmitCtl,
): Tx {
  const fn = 'asyncMemcpy';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, 0);
  checkLength(fn, len);
  const d = view(fn, 'dest', dest, checkOffset(fn, 'destOffset', destOffset), len);
  const sv = view(fn, 'src', src, checkOffset(fn, 'srcOffset', srcOffset), len);
  if (overlapsAt(d, sv, len)) throw new OverlapError(`${fn}: dest overlaps src`);

  const op: HwOp = { kind: 'memcpy', dest: d, src: sv };
  return submitStep(ctx, 'memcpy', s, op);
}
