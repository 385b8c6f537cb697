/** async_memcpy: copy bytes between buffers (async_memcpy.c). */
import type { HwOp } from '../dmaengine/index.js';
import type { TxContext } from './context.js';
import { beginTx, checkSubmit, dispatch, type SubmitCtl, type Tx } from './submit.js';
import { checkLength, checkNoOverlap, checkOffset, view } from './validate.js';

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
  checkNoOverlap(fn, { name: 'dest', view: d }, [{ name: 'src', view: sv }], false);

  const op: HwOp = { kind: 'memcpy', dest: d, src: sv };
  return dispatch(ctx, beginTx(ctx, 'memcpy', s), op);
}
