/** async_xor and async_xor_val (async_xor.c). */
import type { HwOp } from '../dmaengine/index.js';
import { InvalidArgumentError, OverlapError } from '../errors.js';
import type { TxContext } from './context.js';
import { submitStep } from './fast_path.js';
import { leaseList } from './operand_lists.js';
import { checkSubmit, TxFlags, type SubmitCtl, type Tx } from './submit.js';
import { checkArray, checkLength, checkOffsets, firstOverlap, offsetAt, slotView, startsOf, view, type Offsets } from './validate.js';

const srcName = (i: number): string => `srcs[${i}]`;

/**
 * Checks dest and srcs and returns the kernel's source list in one array: dest first when
 * `withDest`, then the sources that count (nulls and a dropped srcs[0] removed). With
 * `checkDest`, dest may not overlap a source other than by being the very same bytes,
 * checked once every view is known to be good (a bad view is reported first).
 */
function xorSources(
  fn: string,
  dest: unknown,
  srcs: unknown,
  offset: Offsets,
  len: number,
  flags: number,
  minSrcs: number,
  withDest: boolean,
  checkDest: boolean,
): { dest: Uint8Array; sources: Uint8Array[] } {
  const list = checkArray(fn, 'srcs', srcs);
  if (list.length < minSrcs) throw new InvalidArgumentError(`${fn}: srcs needs at least ${minSrcs} entries, got ${list.length}`);
  checkLength(fn, len);
  const n = list.length;
  const offs = checkOffsets(fn, offset, n + 1, 'dest first, then each source');
  const d = view(fn, 'dest', dest, offsetAt(offs, 0), len);
  // Every source's view at base + i (null kept) for the checks, compacted afterwards.
  const base = withDest ? 1 : 0;
  const all = leaseList();
  if (withDest) all.push(d);
  for (let i = 0; i < n; i++) all.push(slotView(fn, srcName, n, i, list[i], offsetAt(offs, i + 1), len));
  if (checkDest) {
    const at = startsOf(all);
    const j = firstOverlap(d, withDest ? at[0] : d.byteOffset, all, at, len, true, base - 1);
    if (j >= 0) throw new OverlapError(`${fn}: dest overlaps ${srcName(j - base)} (only the very same bytes are allowed)`);
  }
  return { dest: d, sources: compact(all, base, base + ((flags & TxFlags.XorDropDst) !== 0 ? 1 : 0)) };
}

/** Drops the nulls of all[from..] and the entries in [from, keepFrom), in place. */
function compact(all: Array<Uint8Array | null>, from: number, keepFrom: number): Uint8Array[] {
  let k = from;
  for (let i = from; i < all.length; i++) {
    const v = all[i];
    if (v !== null && i >= keepFrom) all[k++] = v;
  }
  while (all.length > k) all.pop();
  return all as Uint8Array[];
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
  const o = xorSources(fn, dest, srcs, offset, len, s.flags, 2, (s.flags & TxFlags.XorZeroDst) === 0, true);

  const op: HwOp = { kind: 'xor', dest: o.dest, srcs: o.sources };
  return submitStep(ctx, 'xor', s, op);
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
  const o = xorSources(fn, dest, srcs, offset, len, s.flags, 1, true, false);

  const op: HwOp = { kind: 'xor_val', srcs: o.sources, len };
  return submitStep(ctx, 'xor_val', s, op);
}
