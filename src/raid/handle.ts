/**
 * handle_stripe: what one stripe head must do for a request, decided from the
 * state of its members (analyse_stripe), then carried out as member reads,
 * one async_tx chain (stripe_ops.ts) and member writes.
 *
 * - Writes choose read-modify-write or reconstruct-write by the member reads
 *   each needs (md's rmw/rcw counts); a write that covers every data member
 *   of the range reads nothing and computes parity straight from the caller's
 *   buffer (md's skip_copy).
 * - A member that cannot be read here (missing, faulty, or being rebuilt and
 *   not yet past this stripe) is computed from the others; an I/O error marks
 *   the member faulty and the stripe is planned again without it.
 * - Ranges are widened to whole sectors: an unaligned write reads the rest of
 *   its sectors first (sector read-modify-write).
 */
import { ArrayFailedError, MemberIOError } from './errors.js';
import { parityDisks, type Layout } from './layout.js';
import type { RaidOps } from './ops.js';
import { SECTOR } from './superblock.js';
import { covers, EMPTY, merge, type StripeHead } from './stripe.js';
import { done, finish, runCheck, runCompute, runCopies, runReconstruct, runXorIntoParity, type Copy, type StripeBlocks } from './stripe_ops.js';

/** What a stripe needs from the array around it. */
export interface StripeEnv {
  readonly layout: Layout;
  readonly ops: RaidOps;
  /** Stripe head width in bytes (divides the chunk). */
  readonly unit: number;
  /** True when member `disk` holds current bytes for member sectors below `endSector`. */
  readable(disk: number, endSector: number): boolean;
  /** True when member `disk` takes writes (in the array, not faulty). */
  writable(disk: number): boolean;
  /** Member I/O at `pos` bytes past its data offset. Rejects with MemberIOError once the member is marked faulty. */
  io(disk: number, write: boolean, buf: Uint8Array, pos: number): Promise<void>;
  /** Members of the array failed now. */
  failedCount(): number;
}

/** Caller bytes for (write) or from (read) one member's part of a stripe head. */
export interface Extent {
  readonly disk: number;
  /** Byte range inside the unit. */
  readonly lo: number;
  readonly hi: number;
  readonly user: Uint8Array;
  readonly userOffset: number;
}

export type SyncMode = 'check' | 'repair' | 'resync' | 'recover';

/** md counts mismatches per 4 KiB stripe page (STRIPE_SECTORS). */
const CHECK_PAGE = 4096;

function maxDegraded(env: StripeEnv): number {
  return parityDisks(env.layout.geometry.level);
}

function rowOf(env: StripeEnv, sh: StripeHead) {
  return env.layout.row(Math.floor(sh.sector / env.layout.geometry.chunkSectors));
}

function failedDisks(env: StripeEnv, sh: StripeHead, hi: number): number[] {
  const end = sh.sector + Math.ceil(hi / SECTOR);
  const out: number[] = [];
  for (let d = 0; d < sh.disks; d++) if (!env.readable(d, end)) out.push(d);
  if (out.length > maxDegraded(env)) {
    throw new ArrayFailedError(`${out.length} members unavailable at member sector ${sh.sector}: RAID-${env.layout.geometry.level} survives ${maxDegraded(env)}`);
  }
  return out;
}

/** Reads members into the head's buffers; false when one failed (it is now faulty: plan again). */
async function readInto(env: StripeEnv, sh: StripeHead, disks: readonly number[], lo: number, hi: number): Promise<boolean> {
  const results = await Promise.allSettled(disks.map((d) => env.io(d, false, sh.buf(d).subarray(lo, hi), sh.sector * SECTOR + lo)));
  let ok = true;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') sh.valid[disks[i]!] = merge(sh.valid[disks[i]!]!, lo, hi);
    else if (r.reason instanceof MemberIOError) ok = false;
    else throw r.reason;
  });
  return ok;
}

function views(sh: StripeHead, lo: number, hi: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let d = 0; d < sh.disks; d++) out.push(sh.buf(d).subarray(lo, hi));
  return out;
}

async function writeOut(env: StripeEnv, sh: StripeHead, disks: Iterable<number>, data: (d: number) => Uint8Array, lo: number): Promise<void> {
  const list = [...disks].filter((d) => env.writable(d));
  const results = await Promise.allSettled(list.map((d) => env.io(d, true, data(d), sh.sector * SECTOR + lo)));
  for (const r of results) if (r.status === 'rejected' && !(r.reason instanceof MemberIOError)) throw r.reason;
  // A failed write leaves the member faulty; the data is safe while parity covers the loss.
  if (env.failedCount() > maxDegraded(env)) {
    throw new ArrayFailedError(`too many members failed while writing member sector ${sh.sector}`);
  }
}

/** Writes caller extents (at most one per member) into one stripe head. */
export async function handleWrite(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<void> {
  const row = rowOf(env, sh);
  const ext = new Map<number, Extent>(extents.map((e) => [e.disk, e]));
  let lo = Math.min(...extents.map((e) => e.lo));
  let hi = Math.max(...extents.map((e) => e.hi));
  lo = Math.floor(lo / SECTOR) * SECTOR;
  hi = Math.ceil(hi / SECTOR) * SECTOR;
  const len = hi - lo;
  const full = (d: number) => {
    const e = ext.get(d);
    return e !== undefined && e.lo <= lo && e.hi >= hi;
  };
  const parity = row.qd >= 0 ? [row.pd, row.qd] : [row.pd];
  for (;;) {
    const failed = failedDisks(env, sh, hi);
    const failedSet = new Set(failed);
    const uncovered = row.dataDisks.filter((d) => !full(d));
    const mustCompute = failed.some((d) => row.dataIndexOfDisk[d]! >= 0 && !full(d));
    const stale = (d: number) => !failedSet.has(d) && !covers(sh.valid[d]!, lo, hi);
    let rmw = false;
    let toRead: number[];
    if (mustCompute) {
      toRead = Array.from({ length: sh.disks }, (_, d) => d).filter(stale);
    } else {
      const rcwReads = uncovered.filter(stale);
      const touched = [...ext.keys(), ...parity];
      const rmwReads = touched.filter(stale);
      rmw = touched.every((d) => !failedSet.has(d)) && rmwReads.length < rcwReads.length;
      toRead = rmw ? rmwReads : rcwReads;
    }
    if (!mustCompute && uncovered.length === 0) return writeFullStripe(env, sh, extents, lo, hi);
    if (toRead.length > 0 && !(await readInto(env, sh, toRead, lo, hi))) continue;

    const v: Uint8Array[] = views(sh, lo, hi);
    const blocks: StripeBlocks = { level: env.layout.geometry.level, row, views: v, len };
    const copies: Copy[] = extents.map((e) => ({ disk: e.disk, at: e.lo - lo, user: e.user, userOffset: e.userOffset, len: e.hi - e.lo }));
    const written = [...ext.keys()];
    let tx = runCompute(env.ops, blocks, mustCompute ? failed : [], null);
    if (rmw) {
      tx = runXorIntoParity(env.ops, blocks, written, tx); // prexor
      tx = runCopies(env.ops, blocks, copies, true, tx); // biodrain
      tx = runXorIntoParity(env.ops, blocks, written, tx); // reconstruct
    } else {
      tx = runCopies(env.ops, blocks, copies, true, tx);
      tx = runReconstruct(env.ops, blocks, tx);
    }
    if (!done(tx)) await finish(env.ops, tx);

    // Members whose buffer now holds their new bytes for [lo, hi).
    const current = new Set<number>([...parity, ...written, ...toRead, ...(mustCompute ? failed : [])]);
    for (const d of current) sh.valid[d] = merge(sh.valid[d]!, lo, hi);
    // Computed members are written too: a member being rebuilt gets this stripe's bytes now.
    const targets = new Set<number>([...written, ...parity, ...(mustCompute ? failed : [])]);
    await writeOut(env, sh, targets, (d) => v[d]!, lo);
    return;
  }
}

/**
 * A write covering every data member of [lo, hi) (md's full-stripe write
 * with skip_copy): nothing is read, P/Q are computed straight from the
 * caller's bytes (no copy into the head), and every member is written. The
 * head keeps P/Q; its data buffers no longer match the members.
 */
async function writeFullStripe(env: StripeEnv, sh: StripeHead, extents: readonly Extent[], lo: number, hi: number): Promise<void> {
  const row = rowOf(env, sh);
  const len = hi - lo;
  const parity = row.qd >= 0 ? [row.pd, row.qd] : [row.pd];
  const v = new Array<Uint8Array | null>(sh.disks).fill(null);
  for (const e of extents) v[e.disk] = e.user.subarray(e.userOffset + (lo - e.lo), e.userOffset + (lo - e.lo) + len);
  for (const d of parity) v[d] = sh.buf(d).subarray(lo, hi);
  const tx = runReconstruct(env.ops, { level: env.layout.geometry.level, row, views: v, len }, null);
  if (!done(tx)) await finish(env.ops, tx);
  for (const e of extents) sh.valid[e.disk] = EMPTY;
  for (const d of parity) sh.valid[d] = merge(sh.valid[d]!, lo, hi);
  await writeOut(env, sh, [...extents.map((e) => e.disk), ...parity], (d) => v[d]!, lo);
}

/**
 * A degraded read of the same whole sectors of every data member works in the
 * caller's buffer: survivors are read straight into it and the lost blocks are
 * rebuilt there; only P/Q pass through the stripe. False when the request has
 * another shape (the general path then runs).
 */
async function readWholeRow(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<boolean> {
  const row = rowOf(env, sh);
  const lo = extents[0]!.lo;
  const hi = extents[0]!.hi;
  if (lo % SECTOR !== 0 || hi % SECTOR !== 0 || extents.length !== row.dataDisks.length || extents.some((e) => e.lo !== lo || e.hi !== hi)) return false;
  for (;;) {
    const failed = failedDisks(env, sh, hi);
    const failedSet = new Set(failed);
    const lostData = failed.filter((d) => row.dataIndexOfDisk[d]! >= 0);
    // Q is read only when the rebuild needs it: one lost data member with P there is P's xor alone.
    const skipQ = row.qd >= 0 && lostData.length === 1 && !failedSet.has(row.pd);
    const v = new Array<Uint8Array | null>(sh.disks).fill(null);
    for (const e of extents) v[e.disk] = e.user.subarray(e.userOffset, e.userOffset + hi - lo);
    for (const d of [row.pd, row.qd]) if (d >= 0 && !(d === row.qd && skipQ)) v[d] = sh.buf(d).subarray(lo, hi);
    const live = Array.from({ length: sh.disks }, (_, d) => d).filter((d) => !failedSet.has(d) && v[d] !== null);
    const res = await Promise.allSettled(live.map((d) => env.io(d, false, v[d]!, sh.sector * SECTOR + lo)));
    const bad = res.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad && !(bad.reason instanceof MemberIOError)) throw bad.reason;
    if (bad) continue; // the member is faulty now: plan again without it
    const tx = runCompute(env.ops, { level: env.layout.geometry.level, row, views: v, len: hi - lo }, failed, null, lostData);
    if (!done(tx)) await finish(env.ops, tx);
    for (const d of live) if (d === row.pd || d === row.qd) sh.valid[d] = merge(sh.valid[d]!, lo, hi);
    return true;
  }
}

/** Reads caller extents out of one stripe head, rebuilding what a failed member held. */
export async function handleRead(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<void> {
  const degraded: Extent[] = [];
  const end = (e: Extent) => sh.sector + Math.ceil(e.hi / SECTOR);
  if (extents.some((e) => !env.readable(e.disk, end(e))) && (await readWholeRow(env, sh, extents))) return;
  const direct: Promise<void>[] = [];
  const copies: Copy[] = [];
  for (const e of extents) {
    if (!env.readable(e.disk, end(e))) degraded.push(e);
    else if (covers(sh.valid[e.disk]!, e.lo, e.hi)) copies.push({ disk: e.disk, at: e.lo, user: e.user, userOffset: e.userOffset, len: e.hi - e.lo });
    else {
      direct.push(
        env.io(e.disk, false, e.user.subarray(e.userOffset, e.userOffset + e.hi - e.lo), sh.sector * SECTOR + e.lo).catch((err: unknown) => {
          if (!(err instanceof MemberIOError)) throw err;
          degraded.push(e);
        }),
      );
    }
  }
  if (copies.length) {
    const blocks: StripeBlocks = { level: env.layout.geometry.level, row: rowOf(env, sh), views: views(sh, 0, sh.unit), len: sh.unit };
    await finish(env.ops, runCopies(env.ops, blocks, copies, false, null)); // biofill from cache
  }
  await Promise.all(direct);
  if (degraded.length === 0) return;
  const row = rowOf(env, sh);
  const lo = Math.floor(Math.min(...degraded.map((e) => e.lo)) / SECTOR) * SECTOR;
  const hi = Math.ceil(Math.max(...degraded.map((e) => e.hi)) / SECTOR) * SECTOR;
  for (;;) {
    const failed = failedDisks(env, sh, hi);
    const failedSet = new Set(failed);
    const toRead = Array.from({ length: sh.disks }, (_, d) => d).filter((d) => !failedSet.has(d) && !covers(sh.valid[d]!, lo, hi));
    if (!(await readInto(env, sh, toRead, lo, hi))) continue;
    const blocks: StripeBlocks = { level: env.layout.geometry.level, row, views: views(sh, lo, hi), len: hi - lo };
    const lostData = failed.filter((d) => row.dataIndexOfDisk[d]! >= 0);
    let tx = runCompute(env.ops, blocks, failed, null, lostData);
    const out = degraded.map((e) => ({ disk: e.disk, at: e.lo - lo, user: e.user, userOffset: e.userOffset, len: e.hi - e.lo }));
    tx = runCopies(env.ops, blocks, out, false, tx);
    await finish(env.ops, tx);
    for (const d of lostData) sh.valid[d] = merge(sh.valid[d]!, lo, hi);
    return;
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
  const row = rowOf(env, sh);
  const level = env.layout.geometry.level;
  sh.invalidate();
  for (;;) {
    const failed = failedDisks(env, sh, hi);
    const failedSet = new Set(failed);
    const toRead = Array.from({ length: sh.disks }, (_, d) => d).filter((d) => !failedSet.has(d));
    if (mode !== 'recover' && failed.length > 0) return 0; // nothing to compare against: md skips too
    if (!(await readInto(env, sh, toRead, lo, hi))) continue;
    const blocks: StripeBlocks = { level, row, views: views(sh, lo, hi), len: hi - lo };
    if (mode === 'recover') {
      const targets = failed.filter((d) => env.writable(d));
      if (targets.length === 0) return 0;
      await finish(env.ops, runCompute(env.ops, blocks, failed, null));
      for (const d of failed) sh.valid[d] = merge(sh.valid[d]!, lo, hi);
      await writeOut(env, sh, targets, (d) => blocks.views[d]!, lo);
      return 0;
    }
    if ((await runCheck(env.ops, blocks, null)) === 0) return 0;
    let mismatched = 0;
    for (let p = lo; p < hi; p += CHECK_PAGE) {
      const e = Math.min(hi, p + CHECK_PAGE);
      const page: StripeBlocks = { level, row, views: views(sh, p, e), len: e - p };
      if ((await runCheck(env.ops, page, null)) !== 0) mismatched += (e - p) / SECTOR;
    }
    if (mode !== 'check') {
      await finish(env.ops, runReconstruct(env.ops, blocks, null));
      const parity = row.qd >= 0 ? [row.pd, row.qd] : [row.pd];
      await writeOut(env, sh, parity, (d) => blocks.views[d]!, lo);
    }
    return mismatched;
  }
}
