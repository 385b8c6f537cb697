/**
 * handle_stripe: carries out the plans of stripe_plan.ts on one stripe head
 * — member reads, one async_tx chain (stripe_ops.ts), member writes — and
 * plans again when a member fails under it: an I/O error marks the member
 * faulty or records the range on its bad-block list (the array does that),
 * and the next plan works without it.
 */
import { ArrayFailedError, MemberIOError, UnreadableRangeError } from './errors.js';
import { parityDisks, type Layout } from './layout.js';
import type { IoTarget } from '../async_tx/index.js';
import { IoError, type RaidOps, type Tx } from './ops.js';
import { merge, EMPTY, type Range, type StripeHead } from './stripe.js';
import { badOf, extentPieces, pieces } from './stripe_pieces.js';
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
  /**
   * Member I/O at `pos` bytes past its data offset. Rejects with MemberIOError once the member is
   * marked faulty, or when a read's range is (or now is recorded) on its bad-block list: either
   * way the next plan works without it there. A write whose failure was recorded as bad blocks
   * resolves. A `durable` write resolves once it is durable (REQ_FUA).
   */
  io(disk: number, write: boolean, buf: Uint8Array, pos: number, durable?: boolean): Promise<void>;
  /** True when member `disk` makes a single write durable without flushing the rest (it has writeFua). */
  canFua?(disk: number): boolean;
  /** Members of the array failed now. */
  failedCount(): number;
  /**
   * Member `disk` as an I/O target, and the byte position of its data (the data offset), for
   * member I/O as steps of the stripe's chain; null when it is not available now. Absent: the
   * stripe uses `io` only.
   */
  target?(disk: number): { readonly target: IoTarget; readonly base: number } | null;
  /** A chained transfer on member `disk` failed: mark it faulty, as a failed `io` does. */
  transferFailed?(disk: number, error: Error): void;
  /** Byte ranges of member `disk`'s bytes [pos, pos+len) (from its data offset) that its bad-block list holds, relative to `pos`. Absent: no lists. */
  badRanges?(disk: number, pos: number, len: number): Range[];
  /** Records member `disk`'s bytes [pos, pos+len) as bad (recovery could not rebuild them); false when its log cannot hold them. */
  recordBad?(disk: number, pos: number, len: number): boolean;
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
  const bad = badOf(env, sh);
  return {
    level: env.layout.geometry.level,
    row: rowOf(env, sh),
    sector: sh.sector,
    unit: sh.unit,
    readableTo: members.map((d) => Math.max(0, Math.min(sh.unit, (env.readableSectors(d) - sh.sector) * SECTOR))),
    writable: members.map((d) => env.writable(d)),
    valid: sh.valid,
    ...(bad ? { bad } : {}),
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

/** The stages as async_tx steps behind `parent`; the check stage, which must be awaited, is returned apart. */
function submitStages(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], chain: readonly Stage[], parent: Tx | null): { tx: Tx | null; check: Extract<Stage, { op: 'check' }> | null } {
  const ops = env.ops;
  const copies = (list: readonly CopyPlan[]) => list.map((c) => ({ disk: c.disk, at: c.at, len: c.len, user: extents[c.extent]!.user, userOffset: extents[c.extent]!.userOffset }));
  let tx = parent;
  for (const s of chain) {
    const b = stripeBlocks(env, sh, extents, s.blocks);
    if (s.op === 'compute') tx = runCompute(ops, b, s.missing, tx, s.want);
    else if (s.op === 'prexor') tx = runXorIntoParity(ops, b, s.disks, tx);
    else if (s.op === 'biodrain') tx = runCopies(ops, b, copies(s.copies), true, tx);
    else if (s.op === 'biofill') tx = runCopies(ops, b, copies(s.copies), false, tx);
    else if (s.op === 'reconstruct') tx = s.rmw ? runXorIntoParity(ops, b, s.rmw, tx) : runReconstruct(ops, b, tx);
    else return { tx, check: s };
  }
  return { tx, check: null };
}

/**
 * Submits the stages as one chain and waits for its end.
 * @returns mismatched sectors when the chain ends in a check, else 0.
 */
async function runChain(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], chain: readonly Stage[]): Promise<number> {
  const { tx, check } = submitStages(env, sh, extents, chain, null);
  if (check !== null) return countMismatches(env, sh, check.blocks, check.page, await runCheck(env.ops, stripeBlocks(env, sh, extents, check.blocks), tx));
  if (!done(tx)) await finish(env.ops, tx);
  return 0;
}

/** One I/O step of a chained plan: the member requests it carries, in transfer order. */
interface IoStep {
  readonly tx: Tx;
  readonly ios: readonly MemberIO[];
  readonly targets: readonly IoTarget[];
}

/**
 * Whether the whole plan can run as one chain: the ops take I/O steps, every member it names is
 * reachable, and no member lists bad blocks in the head (their I/O goes through `io`, which
 * keeps the lists).
 */
function chainable(env: StripeEnv, plan: StripePlan, view: StripeView): boolean {
  if (env.target === undefined || env.ops.asyncIoRead === undefined || view.bad) return false;
  for (const io of plan.reads) if (env.target(io.disk) === null) return false;
  for (const io of plan.writes) if (env.target(io.disk) === null) return false;
  return true;
}

/** The member requests as I/O steps behind `parent`: one step per byte range, all its members together. */
function submitIo(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], list: readonly MemberIO[], write: boolean, parent: Tx | null, steps: IoStep[]): Tx | null {
  const groups = new Map<number, MemberIO[]>();
  for (const io of list) {
    const key = io.lo * 0x1_0000_0000 + io.hi;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [io]);
    else g.push(io);
  }
  let tx = parent;
  for (const ios of groups.values()) {
    const places = ios.map((io) => env.target!(io.disk)!);
    const bufs = ios.map((io) => ioBuffer(sh, extents, io));
    const positions = ios.map((io, i) => places[i]!.base + sh.sector * SECTOR + io.lo);
    const targets = places.map((p) => p.target);
    const len = ios[0]!.hi - ios[0]!.lo;
    const submit = tx === null ? {} : { depend: tx };
    tx = write ? env.ops.asyncIoWrite!(bufs, targets, positions, 0, len, submit) : env.ops.asyncIoRead!(bufs, targets, positions, 0, len, submit);
    steps.push({ tx, ios, targets });
  }
  return tx;
}

/** After a chain failed: the member whose transfer failed (marked faulty now) and whether it was a write; null when no transfer failed. */
function transferFailure(env: StripeEnv, steps: readonly IoStep[], writes: ReadonlySet<Tx>): { disk: number; write: boolean } | null {
  for (const s of steps) {
    const err = s.tx.error;
    if (!(err instanceof IoError)) continue;
    const io = s.ios[s.targets.indexOf(err.target as IoTarget)] ?? s.ios[0]!;
    env.transferFailed!(io.disk, err);
    return { disk: io.disk, write: writes.has(s.tx) };
  }
  return null;
}

/**
 * Runs a whole plan — member reads, the stages, member writes — as one chain,
 * submitted at once: an engine that reaches the members runs all of it with one
 * doorbell. Returns 'replan' when a member read failed (it is faulty now),
 * else the mismatched sectors of a check (0 for other plans).
 */
async function runChained(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], plan: StripePlan): Promise<number | 'replan'> {
  const steps: IoStep[] = [];
  const read = submitIo(env, sh, extents, plan.reads, false, null, steps);
  const { tx, check } = submitStages(env, sh, extents, plan.chain, read);
  const firstWrite = steps.length;
  const last = check === null ? submitIo(env, sh, extents, plan.writes, true, tx, steps) : tx;
  const writes = new Set(steps.slice(firstWrite).map((s) => s.tx));
  let mismatched = 0;
  try {
    if (check !== null) mismatched = await runCheck(env.ops, stripeBlocks(env, sh, extents, check.blocks), last);
    else if (!done(last)) await finish(env.ops, last);
  } catch (err) {
    const failed = transferFailure(env, steps, writes);
    if (failed === null) throw err;
    if (!failed.write) return 'replan';
    // Everything before the writes completed; the writes not done yet go out one by one,
    // as `io` does, so every member that still takes writes gets its bytes.
    markRead(sh, plan.reads);
    applyValid(sh, plan);
    await runWrites(env, sh, extents, plan.writes);
    return 0;
  }
  markRead(sh, plan.reads);
  if (check !== null) {
    mismatched = await countMismatches(env, sh, check.blocks, check.page, mismatched);
    return mismatched;
  }
  applyValid(sh, plan);
  if (env.failedCount() > parityDisks(env.layout.geometry.level)) throw new ArrayFailedError(`too many members failed while writing member sector ${sh.sector}`);
  return 0;
}

/** Head reads that completed hold their member's bytes. */
function markRead(sh: StripeHead, reads: readonly MemberIO[]): void {
  for (const r of reads) if (r.user === undefined) sh.valid[r.disk] = merge(sh.valid[r.disk]!, r.lo, r.hi);
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
  for (const part of extentPieces(env, sh, extents)) await writePiece(env, sh, part);
}

async function writePiece(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<void> {
  for (;;) {
    const view = viewOf(env, sh);
    const plan = planWrite(view, extents);
    if (chainable(env, plan, view)) {
      if ((await runChained(env, sh, extents, plan)) === 'replan') continue;
      return;
    }
    if (!(await runReads(env, sh, extents, plan.reads)).every(Boolean)) continue;
    await runChain(env, sh, extents, plan.chain);
    applyValid(sh, plan);
    return runWrites(env, sh, extents, plan.writes);
  }
}

/** Reads caller extents out of one stripe head, rebuilding what a failed member (or a bad block) holds. */
export async function handleRead(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<void> {
  for (const part of extentPieces(env, sh, extents)) await readPiece(env, sh, part);
}

async function readPiece(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<void> {
  let pending = extents;
  while (pending.length > 0) {
    const view = viewOf(env, sh);
    const plan = planRead(view, pending);
    if (chainable(env, plan, view)) {
      if ((await runChained(env, sh, pending, plan)) === 'replan') continue;
      return;
    }
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
 * every member that is writable but not yet readable here. Members' bad
 * blocks are rebuilt from the others and written back (planSync).
 * @returns mismatched sectors found (0 for recover).
 */
export async function syncStripe(env: StripeEnv, sh: StripeHead, lo: number, hi: number, mode: SyncMode): Promise<number> {
  sh.invalidate();
  let mismatched = 0;
  for (const [a, b] of pieces(env, sh, lo, hi)) mismatched += await syncPiece(env, sh, a, b, mode);
  return mismatched;
}

async function syncPiece(env: StripeEnv, sh: StripeHead, lo: number, hi: number, mode: SyncMode): Promise<number> {
  for (;;) {
    const view = viewOf(env, sh);
    const plan = planSync(view, lo, hi, mode);
    if (plan.kind === 'skip') return 0;
    if (plan.kind === 'unrecoverable') return recordLost(env, sh, lo, hi, plan.lost ?? []);
    let mismatched: number;
    if (chainable(env, plan, view)) {
      // A check plan's writes wait for the check's verdict; the others' travel in the chain.
      const r = await runChained(env, sh, [], plan);
      if (r === 'replan') continue;
      mismatched = r;
      if (plan.chain.at(-1)?.op === 'check') {
        applyValid(sh, plan);
        if (plan.writes.length) await runWrites(env, sh, [], plan.writes);
      }
    } else {
      if (!(await runReads(env, sh, [], plan.reads)).every(Boolean)) continue;
      mismatched = await runChain(env, sh, [], plan.chain);
      applyValid(sh, plan);
      if (plan.writes.length) await runWrites(env, sh, [], plan.writes);
    }
    if (mismatched > 0 && plan.onMismatch) {
      await runChain(env, sh, [], plan.onMismatch.chain);
      await runWrites(env, sh, [], plan.onMismatch.writes);
    }
    return mismatched;
  }
}

/**
 * md's handle_failed_sync during recovery: the range cannot be rebuilt, so it is recorded bad
 * on each member being rebuilt, and recovery goes on; a member whose log cannot hold it stops
 * the recovery (md's recovery_disabled).
 */
function recordLost(env: StripeEnv, sh: StripeHead, lo: number, hi: number, lost: readonly number[]): number {
  const pos = sh.sector * SECTOR + lo;
  for (const d of lost) {
    if (!env.recordBad?.(d, pos, hi - lo)) {
      throw new UnreadableRangeError(`recovery stopped: member sectors ${pos / SECTOR}..${(pos + hi - lo) / SECTOR - 1} cannot be rebuilt (too many members unavailable there) and member ${d} cannot record them as bad blocks`);
    }
  }
  return 0;
}
