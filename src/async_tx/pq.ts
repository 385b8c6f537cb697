/** async_gen_syndrome and async_syndrome_val (async_pq.c): RAID-6 P and Q. */
import type { HwOp } from '../dmaengine/index.js';
import { InvalidArgumentError, OverlapError } from '../errors.js';
import type { TxContext } from './context.js';
import { leaseList } from './operand_lists.js';
import { submitStep } from './fast_path.js';
import { checkSubmit, TxFlags, type SubmitCtl, type Tx } from './submit.js';
import { checkArray, checkLength, checkOffsets, firstOverlap, offsetAt, slotView, startsOf, type Offsets } from './validate.js';

/** Fewest blocks (2 data + P + Q) and most (253 data slots keep every {02}^i distinct, as in Linux). */
export const PQ_MIN_BLOCKS = 4;
export const PQ_MAX_BLOCKS = 255;

export type PqBlocks = ReadonlyArray<Uint8Array | null>;

export interface PqOperands {
  /** The data slots' views (null kept). */
  data: Array<Uint8Array | null>;
  p: Uint8Array | null;
  q: Uint8Array | null;
}

/** A block's name in messages (built only when one is needed). */
function blockName(i: number, n: number): string {
  return i === n - 2 ? `blocks[${i}] (P)` : i === n - 1 ? `blocks[${i}] (Q)` : `blocks[${i}]`;
}

/** Checks a blocks array (data…, P, Q) and returns every block's view, by index (null kept). */
export function pqViews(fn: string, blocks: unknown, offset: Offsets, len: number): Array<Uint8Array | null> {
  const list = checkArray(fn, 'blocks', blocks);
  if (list.length < PQ_MIN_BLOCKS || list.length > PQ_MAX_BLOCKS) {
    throw new InvalidArgumentError(`${fn}: blocks needs ${PQ_MIN_BLOCKS}..${PQ_MAX_BLOCKS} entries (data…, P, Q), got ${list.length}`);
  }
  checkLength(fn, len);
  const n = list.length;
  const offs = checkOffsets(fn, offset, n, 'one per block');
  const views = leaseList();
  for (let i = 0; i < n; i++) views.push(slotView(fn, blockName, n, i, list[i], offsetAt(offs, i), len));
  return views;
}

/** Refuses the outputs at indices outA and outB of `views` (-1: none) where they overlap any other block. */
export function checkOutputs(fn: string, views: ReadonlyArray<Uint8Array | null>, len: number, outA: number, outB: number): void {
  const at = startsOf(views);
  refuseOverlap(fn, views, at, len, outA);
  refuseOverlap(fn, views, at, len, outB);
}

function refuseOverlap(fn: string, views: ReadonlyArray<Uint8Array | null>, at: Float64Array, len: number, out: number): void {
  const v = out < 0 ? null : views[out];
  if (v === null || v === undefined) return;
  const j = firstOverlap(v, at[out], views, at, len, false, out);
  if (j >= 0) throw new OverlapError(`${fn}: ${blockName(out, views.length)} overlaps ${blockName(j, views.length)}`);
}

/** Takes P and Q off the end of `views` (pqViews'), which is left holding the data slots. */
export function splitPQ(views: Array<Uint8Array | null>): PqOperands {
  const q = views.pop()!;
  const p = views.pop()!;
  return { data: views, p, q };
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
  const views = pqViews(fn, blocks, offset, len);
  const n = views.length;
  if (views[n - 2] === null && views[n - 1] === null) throw new InvalidArgumentError(`${fn}: P and Q are both null; at least one must be computed`);
  checkOutputs(fn, views, len, n - 2, n - 1);
  const o = splitPQ(views);

  const op: HwOp = { kind: 'pq', data: o.data, p: o.p, q: o.q, rmw: (s.flags & TxFlags.PqXorDst) !== 0 };
  return submitStep(ctx, 'pq', s, op);
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
  const o = splitPQ(pqViews(fn, blocks, offset, len));
  if (o.p === null && o.q === null) throw new InvalidArgumentError(`${fn}: P and Q are both null; nothing to check`);

  const op: HwOp = { kind: 'pq_val', data: o.data, p: o.p, q: o.q };
  return submitStep(ctx, 'pq_val', s, op);
}
