/**
 * The parity work of one stripe as async_tx chains, one function per stage of
 * raid5.c's raid_run_ops: compute (rebuild missing blocks), prexor (take old
 * data out of P/Q for read-modify-write), biodrain (copy the caller's data in),
 * reconstruct (P/Q from the data), check (validate P/Q) and biofill (copy
 * data out to the caller). Every stage takes the descriptor of the stage
 * before it as `depend` and returns its own last descriptor, so a whole stripe
 * is submitted at once and the API fits it to the engines there are.
 *
 * Blocks are views of exactly the bytes worked on (offset 0), one per member;
 * RAID-6 blocks are ordered by syndrome slot (md's raid6_d0 walk), P then Q.
 */
import type { RowMap } from './layout.js';
import { DmaStatus, SumCheck, TxFlags, type RaidOps, type Tx } from './ops.js';

/** A stage's input: the blocks of one stripe range, indexed by member. */
export interface StripeBlocks {
  readonly level: number;
  readonly row: RowMap;
  /** views[d] = member d's bytes for the range (null when not at hand). */
  readonly views: ReadonlyArray<Uint8Array | null>;
  readonly len: number;
}

/** A copy of caller bytes into (biodrain) or out of (biofill) a member's view. */
export interface Copy {
  readonly disk: number;
  /** Offset inside the member's view. */
  readonly at: number;
  readonly user: Uint8Array;
  readonly userOffset: number;
  readonly len: number;
}

type Dep = Tx | null;

function submit(depend: Dep, flags = 0): { depend?: Tx; flags: number } {
  return depend ? { depend, flags } : { flags };
}

function need(v: Uint8Array | null | undefined, what: string): Uint8Array {
  if (!v) throw new Error(`internal: ${what} block missing from the stripe`);
  return v;
}

/** RAID-6 blocks in syndrome order (data slots, P, Q); `pick` chooses the view of each member. */
export function syndromeBlocks(s: StripeBlocks, pick: (disk: number) => Uint8Array | null): Array<Uint8Array | null> {
  const { row } = s;
  const out = new Array<Uint8Array | null>(row.syndromeDisks + 2).fill(null);
  row.slotOfDisk.forEach((slot, d) => {
    if (slot >= 0) out[slot] = pick(d);
  });
  out[row.syndromeDisks] = pick(row.pd);
  out[row.syndromeDisks + 1] = pick(row.qd);
  return out;
}

/**
 * compute: rebuilds members in `missing` (at most one for RAID-4/5, two for
 * RAID-6) from the others, as ops_run_compute5/6 do. Only the members in
 * `want` (default: all missing) must come out right: a read leaves lost P/Q
 * alone. A P lost beside a data member is rebuilt anyway (the same pass).
 */
export function runCompute(ops: RaidOps, s: StripeBlocks, missing: readonly number[], depend: Dep, want: readonly number[] = missing): Dep {
  if (missing.length === 0 || want.length === 0) return depend;
  const { row, views, len } = s;
  const n = views.length;
  if (s.level !== 6) {
    const f = missing[0]!;
    if (!want.includes(f)) return depend;
    const srcs: Uint8Array[] = [];
    for (let d = 0; d < n; d++) if (d !== f) srcs.push(need(views[d], `member ${d}`));
    return ops.asyncXor(need(views[f], 'target'), srcs, 0, len, submit(depend, TxFlags.XorZeroDst));
  }
  const isParity = (d: number) => d === row.pd || d === row.qd;
  const data = missing.filter((d) => !isParity(d));
  const lostP = missing.includes(row.pd);
  const lostQ = missing.includes(row.qd);
  let tx = depend;
  if (data.length === 2) {
    const blocks = syndromeBlocks(s, (d) => views[d] ?? null);
    return ops.asyncRaid6TwoDataRecov(blocks, row.slotOfDisk[data[0]!]!, row.slotOfDisk[data[1]!]!, 0, len, submit(tx));
  }
  if (data.length === 1 && lostP) {
    const blocks = syndromeBlocks(s, (d) => views[d] ?? null);
    return ops.asyncRaid6DatapRecov(blocks, row.slotOfDisk[data[0]!]!, 0, len, submit(tx));
  }
  if (data.length === 1) {
    // P is there: one data block is the xor of P and the other data (cheaper than Q math).
    const f = data[0]!;
    const srcs: Uint8Array[] = [need(views[row.pd], 'P')];
    row.dataDisks.forEach((d) => d !== f && srcs.push(need(views[d], `member ${d}`)));
    tx = ops.asyncXor(need(views[f], 'target'), srcs, 0, len, submit(tx, TxFlags.XorZeroDst));
  }
  const makeP = lostP && want.includes(row.pd);
  const makeQ = lostQ && want.includes(row.qd);
  if (makeP || makeQ) {
    const blocks = syndromeBlocks(s, (d) => (d === row.pd ? (makeP ? views[d]! : null) : d === row.qd ? (makeQ ? views[d]! : null) : views[d]!));
    tx = ops.asyncGenSyndrome(blocks, 0, len, submit(tx));
  }
  return tx;
}

/**
 * prexor / reconstruct for read-modify-write: folds the given data members
 * (old data before the drain, new data after) into P (and Q).
 */
export function runXorIntoParity(ops: RaidOps, s: StripeBlocks, disks: readonly number[], depend: Dep): Dep {
  const { row, views, len } = s;
  if (s.level !== 6) {
    const p = need(views[row.pd], 'P');
    return ops.asyncXor(p, [p, ...disks.map((d) => need(views[d], `member ${d}`))], 0, len, submit(depend, TxFlags.XorDropDst));
  }
  const set = new Set(disks);
  const blocks = syndromeBlocks(s, (d) => (d === row.pd || d === row.qd || set.has(d) ? views[d]! : null));
  return ops.asyncGenSyndrome(blocks, 0, len, submit(depend, TxFlags.PqXorDst));
}

/** reconstruct (reconstruct-write): P (and Q) computed from all data members. */
export function runReconstruct(ops: RaidOps, s: StripeBlocks, depend: Dep): Dep {
  const { row, views, len } = s;
  if (s.level !== 6) {
    const srcs = row.dataDisks.map((d) => need(views[d], `member ${d}`));
    return ops.asyncXor(need(views[row.pd], 'P'), srcs, 0, len, submit(depend, TxFlags.XorZeroDst));
  }
  return ops.asyncGenSyndrome(syndromeBlocks(s, (d) => views[d] ?? null), 0, len, submit(depend));
}

/** biodrain (caller → stripe) or biofill (stripe → caller): one memcpy per copy, chained. */
export function runCopies(ops: RaidOps, s: StripeBlocks, copies: readonly Copy[], toStripe: boolean, depend: Dep): Dep {
  let tx = depend;
  for (const c of copies) {
    const v = need(s.views[c.disk], `member ${c.disk}`);
    tx = toStripe
      ? ops.asyncMemcpy(v, c.user, c.at, c.userOffset, c.len, submit(tx))
      : ops.asyncMemcpy(c.user, v, c.userOffset, c.at, c.len, submit(tx));
  }
  return tx;
}

/** check: validates P (and Q) against the data without changing anything. Returns SumCheck bits. */
export async function runCheck(ops: RaidOps, s: StripeBlocks, depend: Dep): Promise<number> {
  const { row, views, len } = s;
  let tx: Tx;
  if (s.level !== 6) {
    const srcs = row.dataDisks.map((d) => need(views[d], `member ${d}`));
    tx = ops.asyncXorVal(need(views[row.pd], 'P'), srcs, 0, len, submit(depend));
  } else {
    tx = ops.asyncSyndromeVal(syndromeBlocks(s, (d) => views[d] ?? null), 0, len, submit(depend));
  }
  const done = await ops.waitForAsyncTx(tx);
  return done.result & (SumCheck.PResult | SumCheck.QResult);
}

/** Waits for the last stage of a chain (nothing to wait for when no stage ran). */
export async function finish(ops: RaidOps, tx: Dep): Promise<void> {
  if (tx) await ops.waitForAsyncTx(tx);
}

/**
 * True when the chain has already completed (the synchronous path ran it):
 * the stripe goes on without yielding, so its member writes are issued while
 * the bytes it just computed are still in the CPU's caches, rather than after
 * every other stripe in flight has computed its own.
 */
export function done(tx: Dep): boolean {
  return tx === null || tx.status === DmaStatus.Complete;
}
