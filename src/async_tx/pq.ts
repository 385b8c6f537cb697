/** async_gen_syndrome and async_syndrome_val (async_pq.c): RAID-6 P and Q. */
import type { HwOp } from '../dmaengine/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { TxContext } from './context.js';
import { beginTx, checkSubmit, dispatch, TxFlags, type SubmitCtl, type Tx } from './submit.js';
import { checkArray, checkLength, checkNoOverlapIn, checkOffsets, offsetAt, optionalView, type Offsets } from './validate.js';

/** Fewest blocks (2 data + P + Q) and most (253 data slots keep every {02}^i distinct, as in Linux). */
export const PQ_MIN_BLOCKS = 4;
export const PQ_MAX_BLOCKS = 255;

export type PqBlocks = ReadonlyArray<Uint8Array | null>;

export interface PqOperands {
  data: Array<Uint8Array | null>;
  p: Uint8Array | null;
  q: Uint8Array | null;
  /** Every block's view (data…, P, Q), by index. */
  views: Array<Uint8Array | null>;
}

/** A block's name in messages (built only when one is needed). */
function blockName(n: number, i: number): string {
  return i === n - 2 ? `blocks[${i}] (P)` : i === n - 1 ? `blocks[${i}] (Q)` : `blocks[${i}]`;
}

/** Checks a blocks array (data…, P, Q) and returns its views. */
export function pqOperands(fn: string, blocks: unknown, offset: Offsets, len: number): PqOperands {
  const list = checkArray(fn, 'blocks', blocks);
  if (list.length < PQ_MIN_BLOCKS || list.length > PQ_MAX_BLOCKS) {
    throw new InvalidArgumentError(`${fn}: blocks needs ${PQ_MIN_BLOCKS}..${PQ_MAX_BLOCKS} entries (data…, P, Q), got ${list.length}`);
  }
  checkLength(fn, len);
  const n = list.length;
  const offs = checkOffsets(fn, offset, n, 'one per block');
  const views = new Array<Uint8Array | null>(n);
  for (let i = 0; i < n; i++) views[i] = optionalView(fn, () => blockName(n, i), list[i], offsetAt(offs, i), len);
  return { data: views.slice(0, n - 2), p: views[n - 2]!, q: views[n - 1]!, views };
}

/** Refuses outputs that overlap any other block. */
export function checkOutputs(fn: string, views: PqOperands['views'], outputs: readonly number[]): void {
  const n = views.length;
  for (const i of outputs) {
    const out = views[i];
    if (out !== null && out !== undefined) checkNoOverlapIn(fn, () => blockName(n, i), out, views, (j) => blockName(n, j), false, i);
  }
}

/**
 * Computes P = ⊕ D_i and Q = Σ {02}^i·D_i over blocks[0..n-3] into blocks[n-2] (P)
 * and blocks[n-1] (Q), in GF(2^8) mod 0x11d, i = slot index. A `null` data slot
 * is a zero block that keeps its index; P or Q (not both) may be `null` to skip it.
 * With TxFlags.PqXorDst: P ^= ⊕ D_i, Q ^= Σ {02}^i·D_i over the non-null slots.
 * Bytes equal Linux lib/raid6 and ISA-L pq_gen.
 * @throws InvalidArgumentError (4..255 blocks, P and Q both null…), OutOfRangeError,
 *   OverlapError (P and Q may not overlap any block), UnknownFlagError (PqXorDst, Ack, Fence apply),
 *   DependencyMisuseError, ClientClosedError.
 */
export function genSyndrome(ctx: TxContext, blocks: PqBlocks, offset: Offsets, len: number, submit?: SubmitCtl): Tx {
  const fn = 'asyncGenSyndrome';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, TxFlags.PqXorDst);
  const o = pqOperands(fn, blocks, offset, len);
  if (o.p === null && o.q === null) throw new InvalidArgumentError(`${fn}: P and Q are both null; at least one must be computed`);
  checkOutputs(fn, o.views, [o.views.length - 2, o.views.length - 1]);

  const op: HwOp = { kind: 'pq', data: o.data, p: o.p, q: o.q, rmw: (s.flags & TxFlags.PqXorDst) !== 0 };
  return dispatch(ctx, beginTx(ctx, 'pq', s), op);
}

/**
 * Checks P and Q against the data: `tx.result` has SumCheck.PResult when P
 * mismatches and SumCheck.QResult when Q does. A `null` P or Q is not checked
 * (not both). Nothing is written.
 * @throws InvalidArgumentError, OutOfRangeError, UnknownFlagError (Ack, Fence apply),
 *   DependencyMisuseError, ClientClosedError.
 */
export function syndromeVal(ctx: TxContext, blocks: PqBlocks, offset: Offsets, len: number, submit?: SubmitCtl): Tx {
  const fn = 'asyncSyndromeVal';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, 0);
  const o = pqOperands(fn, blocks, offset, len);
  if (o.p === null && o.q === null) throw new InvalidArgumentError(`${fn}: P and Q are both null; nothing to check`);

  const op: HwOp = { kind: 'pq_val', data: o.data, p: o.p, q: o.q };
  return dispatch(ctx, beginTx(ctx, 'pq_val', s), op);
}
