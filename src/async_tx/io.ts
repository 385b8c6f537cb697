/**
 * async I/O transfers: memory ↔ targets (files, block devices, members), the
 * role of dmaengine's slave transfers (device_prep_slave_sg). An I/O step is a
 * descriptor like any other: it chains with `depend`, and an engine that can
 * reach every target of it (a worker holding the file descriptors) runs it
 * straight on the shared arena, so reads → compute → writes travel as one chain.
 * Targets no engine can reach go through the main thread's I/O path.
 *
 * Unlike the kernels' operations an I/O step never completes inside the call:
 * it ends when the transfers do (its callback, `waitForAsyncTx`). A write's
 * completion means every target accepted its bytes, not that they are durable.
 */
import { isIoTarget, type HwOp, type IoTarget } from '../dmaengine/index.js';
import { InvalidArgumentError, OverlapError } from '../errors.js';
import type { TxContext } from './context.js';
import { beginTx, checkSubmit, dispatch, type SubmitCtl, type Tx } from './submit.js';
import { checkArray, checkLength, describe, expandOffsets, firstOverlap, startsOf, view, type Offsets } from './validate.js';

/** Most transfers in one I/O step (what one worker ring slot describes). */
export const IO_MAX_TRANSFERS = 64;

function checkTransfers(
  fn: string,
  buffers: readonly Uint8Array[],
  targets: readonly IoTarget[],
  positions: readonly number[],
  offset: Offsets,
  len: number,
): { blocks: Uint8Array[]; targets: IoTarget[]; positions: number[] } {
  const bufs = checkArray(fn, 'buffers', buffers);
  const n = bufs.length;
  if (n < 1 || n > IO_MAX_TRANSFERS) throw new InvalidArgumentError(`${fn}: needs 1..${IO_MAX_TRANSFERS} transfers, got ${n}`);
  const tgts = checkArray(fn, 'targets', targets);
  const pos = checkArray(fn, 'positions', positions);
  if (tgts.length !== n || pos.length !== n) {
    throw new InvalidArgumentError(`${fn}: buffers, targets and positions must have one entry per transfer (${n}, ${tgts.length}, ${pos.length})`);
  }
  checkLength(fn, len);
  const offs = expandOffsets(fn, offset, n, 'one per buffer');
  const blocks = new Array<Uint8Array>(n);
  for (let i = 0; i < n; i++) {
    if (!isIoTarget(tgts[i])) throw new InvalidArgumentError(`${fn}: targets[${i}] is not an IoTarget (name, fd, read, write), got ${describe(tgts[i])}`);
    const p = pos[i];
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0 || p + len > Number.MAX_SAFE_INTEGER) {
      throw new InvalidArgumentError(`${fn}: positions[${i}] must be a non-negative integer with position + len ≤ 2^53 − 1, got ${describe(p)}`);
    }
    blocks[i] = view(fn, `buffers[${i}]`, bufs[i], offs[i]!, len);
  }
  return { blocks, targets: tgts as IoTarget[], positions: pos as number[] };
}

/**
 * Refuses two buffers that share a byte, naming the first pair in index order (the lowest i,
 * then the lowest j < i). Pairwise, but on starts read once and compared as numbers: at most
 * IO_MAX_TRANSFERS buffers, and nothing is allocated unless one is refused.
 */
function refuseSharedBytes(fn: string, blocks: readonly Uint8Array[], len: number): void {
  const at = startsOf(blocks);
  for (let i = 1; i < blocks.length; i++) {
    const j = firstOverlap(blocks[i]!, at[i]!, blocks, at, len, false, -1, i);
    if (j >= 0) throw new OverlapError(`${fn}: buffers[${i}] overlaps buffers[${j}]`);
  }
}

/**
 * Reads `len` bytes at positions[i] of targets[i] into buffers[i][offset…], for every i.
 * @throws InvalidArgumentError, OutOfRangeError, OverlapError (two buffers may not share a byte),
 *   UnknownFlagError (only Ack and Fence apply), DependencyMisuseError, ClientClosedError.
 */
export function ioRead(ctx: TxContext, buffers: readonly Uint8Array[], targets: readonly IoTarget[], positions: readonly number[], offset: Offsets, len: number, submit?: SubmitCtl): Tx {
  return ioStep(ctx, 'io_read', buffers, targets, positions, offset, len, submit);
}

/**
 * Writes buffers[i][offset…offset+len) at positions[i] of targets[i], for every i.
 * The buffers may overlap (the same bytes written to several targets is a mirror).
 * @throws as ioRead, but for overlap.
 */
export function ioWrite(ctx: TxContext, buffers: readonly Uint8Array[], targets: readonly IoTarget[], positions: readonly number[], offset: Offsets, len: number, submit?: SubmitCtl): Tx {
  return ioStep(ctx, 'io_write', buffers, targets, positions, offset, len, submit);
}

function ioStep(
  ctx: TxContext,
  kind: 'io_read' | 'io_write',
  buffers: readonly Uint8Array[],
  targets: readonly IoTarget[],
  positions: readonly number[],
  offset: Offsets,
  len: number,
  submit: SubmitCtl | undefined,
): Tx {
  const fn = kind === 'io_read' ? 'asyncIoRead' : 'asyncIoWrite';
  ctx.assertOpen(fn);
  const s = checkSubmit(ctx, fn, submit, 0);
  const t = checkTransfers(fn, buffers, targets, positions, offset, len);
  // Two reads into one byte would leave it to chance which lands last.
  if (kind === 'io_read') refuseSharedBytes(fn, t.blocks, len);
  const op: HwOp = { kind, ...t };
  return dispatch(ctx, beginTx(ctx, kind, s), op);
}
