/**
 * Stripe planning apart from I/O, as raid5.c splits analyse_stripe from what
 * handle_stripe then asks for: `analyse` says what state the members of one
 * stripe head are in for a byte range (failed, stale, readable, which data is
 * lost), and one planner per request kind turns that into a plan:
 *
 * - the member reads (into the head's buffers, or straight into the caller's),
 * - the async_tx chain: stages in order (stripe_ops.ts runs each), every one
 *   naming the blocks it works on,
 * - the head ranges that hold current bytes afterwards, and the member writes.
 *
 * A plan is plain data (member numbers, byte ranges, indexes into the
 * request's extents): handle.ts carries it out, and it is the unit an engine
 * can take as one chain. Nothing here reads or writes a member.
 */
import { ArrayFailedError, UnreadableRangeError } from './errors.js';
import { parityDisks, type RowMap } from './layout.js';
import { covers, type Range } from './stripe.js';
import { SECTOR } from './superblock.js';

/** What the planners know of one stripe head and its members. */
export interface StripeView {
  readonly level: number;
  readonly row: RowMap;
  /** Member sector (from data_offset) of the head's first byte. */
  readonly sector: number;
  /** Head width in bytes. */
  readonly unit: number;
  /**
   * Per member: the bytes from the head's start that it holds current data
   * for: `unit` in sync, less while it is rebuilt, 0 when missing or faulty.
   */
  readonly readableTo: readonly number[];
  /** Per member: takes writes (in the array, not faulty, array not read-only). */
  readonly writable: readonly boolean[];
  /** Per member: the range of the head's buffer that matches the member (the stripe cache). */
  readonly valid: readonly Range[];
  /** Per member: byte ranges of the head its bad-block list holds (md's is_badblock); absent: none anywhere. */
  readonly bad?: readonly (readonly Range[])[];
}

/** A caller's part of one member in a head: bytes [lo, hi) of the unit. */
export interface ExtentShape {
  readonly disk: number;
  readonly lo: number;
  readonly hi: number;
}

export type SyncMode = 'check' | 'repair' | 'resync' | 'recover';

/** md counts mismatches per 4 KiB stripe page (STRIPE_SECTORS). */
export const CHECK_PAGE = 4096;

/** The members' state for [lo, hi) of a head (md's stripe_head_state). */
export interface Analysis {
  readonly lo: number;
  readonly hi: number;
  /** Members that cannot be read for the range: missing, faulty, or rebuilt only below it (md's failed_num). */
  readonly failed: readonly number[];
  /** The others, in member order. */
  readonly readable: readonly number[];
  /** Readable members whose head buffer lacks their bytes for the range: what using them costs a read. */
  readonly stale: readonly number[];
  /** Failed members that hold data of this row (what a read of them must compute). */
  readonly lostData: readonly number[];
  /** P, and Q for RAID-6. */
  readonly parity: readonly number[];
}

/**
 * One member request, for bytes [lo, hi) of the unit on member `disk`: into
 * or from the head's buffer, or the caller's bytes of extent `user` (an index
 * into the request's extents) for that range.
 */
export interface MemberIO {
  readonly disk: number;
  readonly lo: number;
  readonly hi: number;
  readonly user?: number;
}

/**
 * The blocks a stage works on: bytes [lo, hi) of every member, in the head's
 * buffer unless `user` maps the member to an extent (the caller's bytes) or
 * `absent` leaves it out (not at hand; the stage must not need it).
 */
export interface Blocks {
  readonly lo: number;
  readonly hi: number;
  readonly user?: Readonly<Record<number, number>>;
  readonly absent?: readonly number[];
}

/** Extent `extent`'s bytes into (biodrain) or out of (biofill) member `disk`'s block, at `at` inside it. */
export interface CopyPlan {
  readonly extent: number;
  readonly disk: number;
  readonly at: number;
  readonly len: number;
}

/** One step of the chain, named after raid_run_ops' stages. */
export type Stage =
  /** Rebuild `missing` from the others; only `want` must come out right. */
  | { readonly op: 'compute'; readonly blocks: Blocks; readonly missing: readonly number[]; readonly want: readonly number[] }
  /** Take the old data of `disks` out of P/Q (read-modify-write). */
  | { readonly op: 'prexor'; readonly blocks: Blocks; readonly disks: readonly number[] }
  | { readonly op: 'biodrain'; readonly blocks: Blocks; readonly copies: readonly CopyPlan[] }
  /** P/Q from every data block; with `rmw`, the new data of those members folded into P/Q instead. */
  | { readonly op: 'reconstruct'; readonly blocks: Blocks; readonly rmw?: readonly number[] }
  | { readonly op: 'biofill'; readonly blocks: Blocks; readonly copies: readonly CopyPlan[] }
  /** Validate P/Q; on a mismatch, count mismatched sectors per `page` bytes. Always last. */
  | { readonly op: 'check'; readonly blocks: Blocks; readonly page: number };

export type PlanKind =
  | 'read'
  | 'read-degraded'
  | 'read-row'
  | 'write-rmw'
  | 'write-rcw'
  | 'write-full'
  | 'write-degraded'
  | 'check'
  | 'recover'
  | 'unrecoverable'
  | 'skip';

export interface StripePlan {
  readonly kind: PlanKind;
  readonly reads: readonly MemberIO[];
  readonly chain: readonly Stage[];
  /** After the chain: members whose head buffer holds their current bytes for [lo, hi). */
  readonly valid: { readonly disks: readonly number[]; readonly lo: number; readonly hi: number } | null;
  /** After the chain: members whose head buffer no longer matches them at all. */
  readonly stale: readonly number[];
  readonly writes: readonly MemberIO[];
  /** unrecoverable: members being rebuilt whose range no member combination holds (md records bad blocks there). */
  readonly lost?: readonly number[];
  /** check/repair/resync: what runs when the check stage finds a mismatch (absent: count only). */
  readonly onMismatch?: { readonly chain: readonly Stage[]; readonly writes: readonly MemberIO[] };
}

const NONE: StripePlan = { kind: 'skip', reads: [], chain: [], valid: null, stale: [], writes: [] };

/** P, and Q when the row has one. */
export function parityOf(row: RowMap): number[] {
  return row.qd >= 0 ? [row.pd, row.qd] : [row.pd];
}

/** Whether member `d` holds current bytes for all of [lo, hi): rebuilt that far, and none of them listed bad. */
export function unreadable(v: StripeView, d: number, lo: number, hi: number): boolean {
  return hi > v.readableTo[d]! || (v.bad?.[d]?.some((r) => r.lo < hi && lo < r.hi) ?? false);
}

/** Member `d` is unreadable in [lo, hi) only for its bad blocks: it is in the array that far. */
function badOnly(v: StripeView, d: number, hi: number): boolean {
  return hi <= v.readableTo[d]!;
}

function failedIn(v: StripeView, lo: number, hi: number): number[] {
  return v.readableTo.map((_, d) => d).filter((d) => unreadable(v, d, lo, hi));
}

/**
 * The members' state for [lo, hi).
 * @throws ArrayFailedError when more members are failed there than the level survives, and
 * UnreadableRangeError (md's EIO) when bad blocks are among what makes them too many.
 */
export function analyse(v: StripeView, lo: number, hi: number): Analysis {
  const members = v.readableTo.map((_, d) => d);
  const failed = failedIn(v, lo, hi);
  const max = parityDisks(v.level);
  if (failed.length > max) {
    const bad = failed.filter((d) => badOnly(v, d, hi));
    if (bad.length) {
      throw new UnreadableRangeError(
        `member sectors ${v.sector + lo / SECTOR}..${v.sector + hi / SECTOR - 1} are unreadable: ${failed.length} members unavailable there (member${bad.length > 1 ? 's' : ''} ${bad.join(', ')} by bad blocks), RAID-${v.level} survives ${max}`,
      );
    }
    throw new ArrayFailedError(`${failed.length} members unavailable at member sector ${v.sector}: RAID-${v.level} survives ${max}`);
  }
  const readable = members.filter((d) => !failed.includes(d));
  return {
    lo,
    hi,
    failed,
    readable,
    stale: readable.filter((d) => !covers(v.valid[d]!, lo, hi)),
    lostData: failed.filter((d) => v.row.dataIndexOfDisk[d]! >= 0),
    parity: parityOf(v.row),
  };
}

/** The whole sectors around the extents' bytes. */
function sectorSpan(extents: readonly ExtentShape[]): { lo: number; hi: number } {
  const lo = Math.min(...extents.map((e) => e.lo));
  const hi = Math.max(...extents.map((e) => e.hi));
  return { lo: Math.floor(lo / SECTOR) * SECTOR, hi: Math.ceil(hi / SECTOR) * SECTOR };
}

/** Head-buffer requests for [lo, hi) of each member. */
function headIO(disks: readonly number[], lo: number, hi: number): MemberIO[] {
  return disks.map((disk) => ({ disk, lo, hi }));
}

/** Each listed extent (by index) copied whole, placed relative to a block starting at `base`. */
function copiesOf(extents: readonly ExtentShape[], which: readonly number[], base: number): CopyPlan[] {
  return which.map((i) => {
    const e = extents[i]!;
    return { extent: i, disk: e.disk, at: e.lo - base, len: e.hi - e.lo };
  });
}

function indexes(list: readonly unknown[]): number[] {
  return list.map((_, i) => i);
}

function unique(list: readonly number[]): number[] {
  return [...new Set(list)];
}

/**
 * A write of caller extents (at most one per member) into one head, ranges
 * widened to whole sectors (an unaligned write reads the rest of its sectors:
 * sector read-modify-write).
 *
 * - Every data member covered: a full-stripe write (md's skip_copy): no reads,
 *   P/Q straight from the caller's bytes, every member written.
 * - A lost data member not wholly overwritten: it is computed from the rest
 *   first, then the stripe is reconstruct-written, the rebuilt member included.
 * - Otherwise read-modify-write or reconstruct-write, whichever reads fewer
 *   members, as handle_stripe_dirtying counts them: rmw reads the old bytes of
 *   every written member and of P/Q, rcw every data member not wholly
 *   overwritten; blocks already in the head cost nothing. md takes rmw only
 *   when it reads strictly less (`rmw < rcw`; a tie goes to rcw unless
 *   rmw_level is PARITY_PREFER_RMW, and md's default is PARITY_ENABLE_RMW),
 *   and never when rmw would need a failed member (such a member counts
 *   2 × disks there).
 */
export function planWrite(v: StripeView, extents: readonly ExtentShape[]): StripePlan {
  const { lo, hi } = sectorSpan(extents);
  const a = analyse(v, lo, hi);
  const { row } = v;
  const full = (d: number) => extents.some((e) => e.disk === d && e.lo <= lo && e.hi >= hi);
  const uncovered = row.dataDisks.filter((d) => !full(d));
  const mustCompute = a.lostData.some((d) => !full(d));
  if (!mustCompute && uncovered.length === 0) return planFullWrite(v, a, extents);
  const written = extents.map((e) => e.disk);
  const isStale = (d: number) => a.stale.includes(d);
  const touched = [...written, ...a.parity];
  const rmwReads = touched.filter(isStale);
  const rcwReads = uncovered.filter(isStale);
  const rmw = !mustCompute && touched.every((d) => !a.failed.includes(d)) && rmwReads.length < rcwReads.length;
  const blocks: Blocks = { lo, hi };
  const drain: Stage = { op: 'biodrain', blocks, copies: copiesOf(extents, indexes(extents), lo) };
  const computed = mustCompute ? a.failed : [];
  let chain: Stage[];
  if (rmw) chain = [{ op: 'prexor', blocks, disks: written }, drain, { op: 'reconstruct', blocks, rmw: written }];
  else chain = [drain, { op: 'reconstruct', blocks }];
  if (mustCompute) chain.unshift({ op: 'compute', blocks, missing: a.failed, want: a.failed });
  // Computed members are written too: a member being rebuilt gets this stripe's bytes now.
  const targets = unique([...written, ...a.parity, ...computed]).filter((d) => v.writable[d]);
  return {
    kind: mustCompute ? 'write-degraded' : rmw ? 'write-rmw' : 'write-rcw',
    reads: headIO(mustCompute ? a.stale : rmw ? rmwReads : rcwReads, lo, hi),
    chain,
    valid: { disks: unique([...a.parity, ...written, ...computed]), lo, hi },
    stale: [],
    writes: headIO(targets, lo, hi),
  };
}

/**
 * Full-stripe write: the data blocks are the caller's bytes, P/Q the head's.
 * The head keeps P/Q; its data buffers no longer match the members.
 */
function planFullWrite(v: StripeView, a: Analysis, extents: readonly ExtentShape[]): StripePlan {
  const { lo, hi } = a;
  const user: Record<number, number> = {};
  extents.forEach((e, i) => (user[e.disk] = i));
  const data: MemberIO[] = extents.map((e, i) => ({ disk: e.disk, lo, hi, user: i }));
  return {
    kind: 'write-full',
    reads: [],
    chain: [{ op: 'reconstruct', blocks: { lo, hi, user } }],
    valid: { disks: a.parity, lo, hi },
    stale: extents.map((e) => e.disk),
    writes: [...data, ...headIO(a.parity, lo, hi)].filter((io) => v.writable[io.disk]),
  };
}

/**
 * A read of caller extents out of one head.
 *
 * - A degraded read of the same whole sectors of every data member works in
 *   the caller's buffer: survivors are read straight into it, the lost blocks
 *   are rebuilt there, and only P/Q pass through the head (Q only when the
 *   rebuild needs it: one lost data member with P there is P's xor alone).
 * - Otherwise each extent comes from the head when cached there (biofill),
 *   straight from its member when readable, and else is rebuilt in the head
 *   from the other members over the whole sectors of those extents.
 */
export function planRead(v: StripeView, extents: readonly ExtentShape[]): StripePlan {
  const lostExtent = (e: ExtentShape) => unreadable(v, e.disk, e.lo, e.hi);
  if (extents.some(lostExtent)) {
    const row = planRowRead(v, extents);
    if (row) return row;
  }
  const cached: number[] = [];
  const direct: MemberIO[] = [];
  const lost: number[] = [];
  extents.forEach((e, i) => {
    if (lostExtent(e)) lost.push(i);
    else if (covers(v.valid[e.disk]!, e.lo, e.hi)) cached.push(i);
    else direct.push({ disk: e.disk, lo: e.lo, hi: e.hi, user: i });
  });
  const fill: Stage[] = cached.length ? [{ op: 'biofill', blocks: { lo: 0, hi: v.unit }, copies: copiesOf(extents, cached, 0) }] : [];
  if (lost.length === 0) return { ...NONE, kind: 'read', reads: direct, chain: fill };
  const { lo, hi } = sectorSpan(lost.map((i) => extents[i]!));
  const a = analyse(v, lo, hi);
  const blocks: Blocks = { lo, hi };
  return {
    ...NONE,
    kind: 'read-degraded',
    reads: [...direct, ...headIO(a.stale, lo, hi)],
    chain: [...fill, { op: 'compute', blocks, missing: a.failed, want: a.lostData }, { op: 'biofill', blocks, copies: copiesOf(extents, lost, lo) }],
    valid: { disks: a.lostData, lo, hi },
  };
}

/** The whole-row degraded read, or null when the request has another shape. */
function planRowRead(v: StripeView, extents: readonly ExtentShape[]): StripePlan | null {
  const { row } = v;
  const { lo, hi } = extents[0]!;
  if (lo % SECTOR !== 0 || hi % SECTOR !== 0 || extents.length !== row.dataDisks.length || extents.some((e) => e.lo !== lo || e.hi !== hi)) return null;
  const a = analyse(v, lo, hi);
  const skipQ = row.qd >= 0 && a.lostData.length === 1 && !a.failed.includes(row.pd);
  const user: Record<number, number> = {};
  extents.forEach((e, i) => (user[e.disk] = i));
  const absent = skipQ ? [row.qd] : [];
  const reads = a.readable.filter((d) => !absent.includes(d)).map((d): MemberIO => (d in user ? { disk: d, lo, hi, user: user[d]! } : { disk: d, lo, hi }));
  return { ...NONE, kind: 'read-row', reads, chain: [{ op: 'compute', blocks: { lo, hi, user, absent }, missing: a.failed, want: a.lostData }] };
}

/**
 * Scrub work on [lo, hi) of one head, every readable member read afresh:
 * check compares P/Q with the data (repair and resync also rewrite P/Q where
 * they disagree); recover rebuilds each member that is writable but not yet
 * readable here. A member unreadable here only for its bad blocks is rebuilt
 * and written back in every mode (md's handle_parity_checks with a failed
 * device, and its rewrite after a read error; the good write clears the bad
 * blocks). A check with only other members failed has nothing to compare
 * against and is skipped, as md skips it;
 * with too many unavailable, md's handle_failed_sync skips a check and makes
 * recovery record bad blocks on the members it rebuilds ('unrecoverable').
 */
export function planSync(v: StripeView, lo: number, hi: number, mode: SyncMode): StripePlan {
  const failed = failedIn(v, lo, hi);
  if (failed.length > parityDisks(v.level)) {
    if (mode !== 'recover') return NONE;
    return { ...NONE, kind: 'unrecoverable', lost: failed.filter((d) => v.writable[d] && !badOnly(v, d, hi)) };
  }
  const a = analyse(v, lo, hi);
  const repair = a.failed.filter((d) => v.writable[d] && badOnly(v, d, hi));
  if (mode !== 'recover' && a.failed.length > 0 && repair.length === 0) return NONE;
  const reads = headIO(a.readable, lo, hi);
  const blocks: Blocks = { lo, hi };
  if (mode === 'recover' || repair.length > 0) {
    const targets = mode === 'recover' ? a.failed.filter((d) => v.writable[d]) : repair;
    if (targets.length === 0) return { ...NONE, kind: 'recover', reads };
    return {
      ...NONE,
      kind: 'recover',
      reads,
      chain: [{ op: 'compute', blocks, missing: a.failed, want: a.failed }],
      valid: { disks: a.failed, lo, hi },
      writes: headIO(targets, lo, hi),
    };
  }
  const onMismatch = { chain: [{ op: 'reconstruct', blocks } as const], writes: headIO(a.parity.filter((d) => v.writable[d]), lo, hi) };
  return { ...NONE, kind: 'check', reads, chain: [{ op: 'check', blocks, page: CHECK_PAGE }], ...(mode === 'check' ? {} : { onMismatch }) };
}
