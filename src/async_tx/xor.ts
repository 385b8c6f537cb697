/** async_xor and async_xor_val (async_xor.c). */
import type { HwOp } from '../dmaengine/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { TxContext } from './context.js';
import { beginTx, checkSubmit, dispatch, TxFlags, type SubmitCtl, type Tx } from './submit.js';
import { checkArray, checkLength, checkNoOverlapIn, checkOffsets, offsetAt, optionalView, view, type Offsets } from './validate.js';

interface XorOperands {
  dest: Uint8Array;
  /** The sources that count: nulls and a dropped srcs[0] removed. */
  srcs: Uint8Array[];
  /** Every srcs entry's view (null kept), by index. */
  views: Array<Uint8Array | null>;
}

const srcName = (i: number): string => `srcs[${i}]`;

function xorOperands(fn: string, dest: unknown, srcs: unknown, offset: Offsets, len: number, flags: number, minSrcs: number): XorOperands {
  const list = checkArray(fn, 'srcs', srcs);
  if (list.length < minSrcs) throw new InvalidArgumentError(`${fn}: srcs needs at least ${minSrcs} entries, got ${list.length}`);
  checkLength(fn, len);
  const offs = checkOffsets(fn, offset, list.length + 1, 'dest first, then each source');
  const d = view(fn, 'dest', dest, offsetAt(offs, 0), len);
  const first = (flags & TxFlags.XorDropDst) !== 0 ? 1 : 0;
  const views = new Array<Uint8Array | null>(list.length);
  const used: Uint8Array[] = [];
  for (let i = 0; i < list.length; i++) {
    const v = optionalView(fn, () => srcName(i), list[i], offsetAt(offs, i + 1), len);
    views[i] = v;
    if (v !== null && i >= first) used.push(v);
  }
  return { dest: d, srcs: used, views };
}

/**
 * dest = ⊕ srcs with TxFlags.XorZeroDst; otherwise dest is an implied source
 * (dest ^= ⊕ srcs). With TxFlags.XorDropDst, srcs[0] is the destination and is
 * skipped. `null` sources are skipped. `offset` is one number, or one per block:
 * dest first, then each source.
 * A source may be the very same bytes as dest (an in-place update); any other
 * overlap with dest is refused.
 * @throws InvalidArgumentError (fewer than 2 srcs entries…), OutOfRangeError, OverlapError,
 *   UnknownFlagError (XorZeroDst, XorDropDst, Ack, Fence apply), DependencyMisuseError, ClientClosedError.
 */
export function xor(ctx: TxContext, dest: Uint8Array, srcs: ReadonlyArray<Uint8Array | null>, offset: Offsets, len: number, submit?: SubmitCtl): Tx {
  const fn = 'asyncXor';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, TxFlags.XorZeroDst | TxFlags.XorDropDst);
  const o = xorOperands(fn, dest, srcs, offset, len, s.flags, 2);
  checkNoOverlapIn(fn, 'dest', o.dest, o.views, srcName, true);

  const sources = (s.flags & TxFlags.XorZeroDst) !== 0 ? o.srcs : [o.dest, ...o.srcs];
  const op: HwOp = { kind: 'xor', dest: o.dest, srcs: sources };
  return dispatch(ctx, beginTx(ctx, 'xor', s), op);
}

/**
 * Checks that dest ⊕ srcs is all zeros: `tx.result` is 0 when it is, else
 * SumCheck.PResult. With TxFlags.XorDropDst, srcs[0] is skipped. Nothing is
 * written — unlike the Linux software path, which destroys dest.
 * @throws InvalidArgumentError (srcs needs at least 1 entry), OutOfRangeError,
 *   UnknownFlagError (XorDropDst, Ack, Fence apply), DependencyMisuseError, ClientClosedError.
 */
export function xorVal(ctx: TxContext, dest: Uint8Array, srcs: ReadonlyArray<Uint8Array | null>, offset: Offsets, len: number, submit?: SubmitCtl): Tx {
  const fn = 'asyncXorVal';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, TxFlags.XorDropDst);
  const o = xorOperands(fn, dest, srcs, offset, len, s.flags, 1);

  const op: HwOp = { kind: 'xor_val', srcs: [o.dest, ...o.srcs], len };
  return dispatch(ctx, beginTx(ctx, 'xor_val', s), op);
}
