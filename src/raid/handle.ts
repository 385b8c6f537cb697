/**
 * handle_stripe: carries out the plans of stripe_plan.ts on one stripe head
 * — member reads, one async_tx chain (stripe_ops.ts), member writes — and
 * plans again when a member fails under it: an I/O error marks the member
 * faulty (the array does that), and the next plan works without it.
 */
import { ArrayFailedError, MemberIOError } from './errors.js';
import { parityDisks, type Layout } from './layout.js';
import type { RaidOps, Tx } from './ops.js';
import { merge, EMPTY, type StripeHead } from './stripe.js';
import { done, finish, runCheck, runCompute, runCopies, runReconstruct, runXorIntoParity, type StripeBlocks } from './stripe_ops.js';
import { planRead, planSync, planWrite, type Blocks, type CopyPlan, type ExtentShape, type MemberIO, type Stage, type StripePlan, type StripeView, type SyncMode } from './stripe_plan.js';
import { SECTOR } from './superblock.js';

/** What a stripe needs from the array around it. */
export interface StripeEnv {
  readonly layout: Layout;
  readonly ops: RaidOps;
  /** Stripe head width in bytes (divides the chunk). */
  readonly unit: number;
  /** Member sectors (from the data offset) that member `disk` holds current bytes for: Infinity in sync, 0 when missing or faulty. */
  readableSectors(disk: number): number;
  /** True when member `disk` takes writes (in the array, not faulty). */
  writable(disk: number): boolean;
  /** Member I/O at `pos` bytes past its data offset. Rejects with MemberIOError once the member is marked faulty. */
  io(disk: number, write: boolean, buf: Uint8Array, pos: number): Promise<void>;
  /** Members of the array failed now. */
  failedCount(): number;
}

/** Caller bytes for (write) or from (read) one member's part of a stripe head. */
export interface Extent extends ExtentShape {
  readonly user: Uint8Array;
  readonly userOffset: number;
}

function rowOf(env: StripeEnv, sh: StripeHead) {
  return env.layout.row(Math.floor(sh.sector / env.layout.geometry.chunkSectors));
}

/** The head and its members as the planners see them now. */
function viewOf(env: StripeEnv, sh: StripeHead): StripeView {
  const members = sh.valid.map((_, d) => d);
  return {
    level: env.layout.geometry.level,
    row: rowOf(env, sh),
    sector: sh.sector,
    unit: sh.unit,
    readableTo: members.map((d) => Math.max(0, Math.min(sh.unit, (env.readableSectors(d) - sh.sector) * SECTOR))),
    writable: members.map((d) => env.writable(d)),
    valid: sh.valid,
  };
}

/** Extent `e`'s caller bytes for unit bytes [lo, hi). */
function userBytes(e: Extent, lo: number, hi: number): Uint8Array {
  return e.user.subarray(e.userOffset + (lo - e.lo), e.userOffset + (hi - e.lo));
}

function ioBuffer(sh: StripeHead, extents: readonly Extent[], io: MemberIO): Uint8Array {
  return io.user === undefined ? sh.buf(io.disk).subarray(io.lo, io.hi) : userBytes(extents[io.user]!, io.lo, io.hi);
}

function stripeBlocks(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], b: Blocks): StripeBlocks {
  const views = sh.valid.map((_, d) => {
    if (b.absent?.includes(d)) return null;
    const i = b.user?.[d];
    return i === undefined ? sh.buf(d).subarray(b.lo, b.hi) : userBytes(extents[i]!, b.lo, b.hi);
  });
  return { level: env.layout.geometry.level, row: rowOf(env, sh), views, len: b.hi - b.lo };
}

/** Issues the plan's reads together; head reads that succeed count as cached. Per read: whether it succeeded. */
async function runReads(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], reads: readonly MemberIO[]): Promise<boolean[]> {
  const results = await Promise.allSettled(reads.map((r) => env.io(r.disk, false, ioBuffer(sh, extents, r), sh.sector * SECTOR + r.lo)));
  return results.map((res, i) => {
    const r = reads[i]!;
    if (res.status === 'rejected') {
      if (!(res.reason instanceof MemberIOError)) throw res.reason;
      return false; // the member is faulty now: plan again without it
    }
    if (r.user === undefined) sh.valid[r.disk] = merge(sh.valid[r.disk]!, r.lo, r.hi);
    return true;
  });
}

/**
 * Submits the stages as one chain and waits for its end.
 * @returns mismatched sectors when the chain ends in a check, else 0.
 */
async function runChain(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], chain: readonly Stage[]): Promise<number> {
  const ops = env.ops;
  const copies = (list: readonly CopyPlan[]) => list.map((c) => ({ disk: c.disk, at: c.at, len: c.len, user: extents[c.extent]!.user, userOffset: extents[c.extent]!.userOffset }));
  let tx: Tx | null = null;
  for (const s of chain) {
    const b = stripeBlocks(env, sh, extents, s.blocks);
    if (s.op === 'compute') tx = runCompute(ops, b, s.missing, tx, s.want);
    else if (s.op === 'prexor') tx = runXorIntoParity(ops, b, s.disks, tx);
    else if (s.op === 'biodrain') tx = runCopies(ops, b, copies(s.copies), true, tx);
    else if (s.op === 'biofill') tx = runCopies(ops, b, copies(s.copies), false, tx);
    else if (s.op === 'reconstruct') tx = s.rmw ? runXorIntoParity(ops, b, s.rmw, tx) : runReconstruct(ops, b, tx);
    else return countMismatches(env, sh, s.blocks, s.page, await runCheck(ops, b, tx));
  }
  if (!done(tx)) await finish(ops, tx);
  return 0;
}

/** Mismatched sectors of a range whose check gave `result`, counted per `page` bytes like md's mismatch_cnt. */
async function countMismatches(env: StripeEnv, sh: StripeHead, b: Blocks, page: number, result: number): Promise<number> {
  if (result === 0) return 0;
  let mismatched = 0;
  for (let p = b.lo; p < b.hi; p += page) {
    const e = Math.min(b.hi, p + page);
    if ((await runCheck(env.ops, stripeBlocks(env, sh, [], { lo: p, hi: e }), null)) !== 0) mismatched += (e - p) / SECTOR;
  }
  return mismatched;
}

/** After the chain: what the head's buffers now hold. */
function applyValid(sh: StripeHead, plan: StripePlan): void {
  if (plan.valid) for (const d of plan.valid.disks) sh.valid[d] = merge(sh.valid[d]!, plan.valid.lo, plan.valid.hi);
  for (const d of plan.stale) sh.valid[d] = EMPTY;
}

async function runWrites(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], writes: readonly MemberIO[]): Promise<void> {
  const results = await Promise.allSettled(writes.map((w) => env.io(w.disk, true, ioBuffer(sh, extents, w), sh.sector * SECTOR + w.lo)));
  for (const r of results) if (r.status === 'rejected' && !(r.reason instanceof MemberIOError)) throw r.reason;
  // A failed write leaves the member faulty; the data is safe while parity covers the loss.
  if (env.failedCount() > parityDisks(env.layout.geometry.level)) {
    throw new ArrayFailedError(`too many members failed while writing member sector ${sh.sector}`);
  }
}

/** Writes caller extents (at most one per member) into one stripe head. */
export async function handleWrite(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<void> {
  for (;;) {
    const plan = planWrite(viewOf(env, sh), extents);
    if (!(await runReads(env, sh, extents, plan.reads)).every(Boolean)) continue;
    await runChain(env, sh, extents, plan.chain);
    applyValid(sh, plan);
    return runWrites(env, sh, extents, plan.writes);
  }
}

/** Reads caller extents out of one stripe head, rebuilding what a failed member held. */
export async function handleRead(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<void> {
  let pending = extents;
  while (pending.length > 0) {
    const plan = planRead(viewOf(env, sh), pending);
    const ok = await runReads(env, sh, pending, plan.reads);
    if (ok.every(Boolean)) {
      await runChain(env, sh, pending, plan.chain);
      applyValid(sh, plan);
      return;
    }
    // Extents read straight into the caller's buffer are served; the rest are planned again.
    const served = new Set(plan.reads.flatMap((r, i) => (ok[i] && r.user !== undefined ? [r.user] : [])));
    pending = pending.filter((_, i) => !served.has(i));
  }
}

/**
 * Scrub work on [lo, hi) of one stripe head, reading the members afresh:
 * check counts mismatched sectors (per 4 KiB page, like md's mismatch_cnt);
 * repair and resync also rewrite P/Q where they disagree; recover rebuilds
 * every member that is writable but not yet readable here.
 * @returns mismatched sectors found (0 for recover).
 */
export async function syncStripe(env: StripeEnv, sh: StripeHead, lo: number, hi: number, mode: SyncMode): Promise<number> {
  sh.invalidate();
  for (;;) {
    const plan = planSync(viewOf(env, sh), lo, hi, mode);
    if (plan.kind === 'skip') return 0;
    if (!(await runReads(env, sh, [], plan.reads)).every(Boolean)) continue;
    const mismatched = await runChain(env, sh, [], plan.chain);
    applyValid(sh, plan);
    if (plan.writes.length) await runWrites(env, sh, [], plan.writes);
    if (mismatched > 0 && plan.onMismatch) {
      await runChain(env, sh, [], plan.onMismatch.chain);
      await runWrites(env, sh, [], plan.onMismatch.writes);
    }
    return mismatched;
  }
}
