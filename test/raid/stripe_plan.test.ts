/**
 * The stripe planners without any member I/O: which members a request reads,
 * which async_tx stages it chains and which members it writes, for RAID-4/5/6
 * heads healthy, cached, degraded and being rebuilt — including the choice
 * between read-modify-write and reconstruct-write by md's read counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ArrayFailedError, Layout } from '../../src/raid/index.js';
import { EMPTY, type Range } from '../../src/raid/stripe.js';
import { analyse, CHECK_PAGE, planRead, planSync, planWrite, type ExtentShape, type StripePlan, type StripeView } from '../../src/raid/stripe_plan.js';

const UNIT = 16384;

interface Shape {
  level: number;
  disks: number;
  /** md algorithm (left-symmetric unless given; RAID-4 ignores it). */
  layout?: number;
  /** Members missing or faulty. */
  failed?: number[];
  /** Members being rebuilt, with the bytes of this head rebuilt so far. */
  recovering?: Array<[number, number]>;
  /** Head buffer ranges that match their member. */
  cached?: Array<[number, number, number]>;
  stripe?: number;
}

/** A head of a fresh array of the given shape (chunk = unit). */
function view(s: Shape): StripeView {
  const row = new Layout({ level: s.level, raidDisks: s.disks, layout: s.layout ?? 2, chunkSectors: UNIT / 512 }).row(s.stripe ?? 0);
  const readableTo = new Array<number>(s.disks).fill(UNIT);
  const writable = new Array<boolean>(s.disks).fill(true);
  for (const d of s.failed ?? []) {
    readableTo[d] = 0;
    writable[d] = false;
  }
  for (const [d, to] of s.recovering ?? []) readableTo[d] = to;
  const valid: Range[] = new Array<Range>(s.disks).fill(EMPTY);
  for (const [d, lo, hi] of s.cached ?? []) valid[d] = { lo, hi };
  return { level: s.level, row, sector: (s.stripe ?? 0) * (UNIT / 512), unit: UNIT, readableTo, writable, valid };
}

const whole = (disk: number): ExtentShape => ({ disk, lo: 0, hi: UNIT });
const disksOf = (list: ReadonlyArray<{ disk: number }>) => list.map((x) => x.disk).sort((a, b) => a - b);
const ops = (p: StripePlan) => p.chain.map((s) => s.op);
const sorted = (list: readonly number[]) => [...list].sort((a, b) => a - b);

describe('analyse', () => {
  it('failed, readable, stale and lost data for a range; a member rebuilt part way is failed past its offset', () => {
    const v = view({ level: 6, disks: 6, failed: [2], recovering: [[3, 4096]], cached: [[4, 0, 8192]] });
    const { row } = v;
    const low = analyse(v, 0, 4096);
    assert.deepEqual(low.failed, [2]);
    assert.deepEqual(low.readable, [0, 1, 3, 4, 5]);
    assert.deepEqual(low.stale, [0, 1, 3, 5]);
    const high = analyse(v, 4096, 12288);
    assert.deepEqual(high.failed, [2, 3]);
    assert.deepEqual(high.stale, [0, 1, 4, 5], 'the cache covers [0, 8192) only');
    assert.deepEqual(sorted(high.lostData), sorted([2, 3].filter((d) => row.dataIndexOfDisk[d]! >= 0)));
    assert.deepEqual(high.parity, [row.pd, row.qd]);
  });

  it('more members failed than the level survives is ArrayFailedError, naming the sector', () => {
    assert.throws(() => analyse(view({ level: 5, disks: 4, failed: [0, 1], stripe: 3 }), 0, 512), (e: unknown) => e instanceof ArrayFailedError && /sector 96/.test(e.message));
    assert.throws(() => analyse(view({ level: 6, disks: 5, failed: [0, 1, 4] }), 0, 512), ArrayFailedError);
    assert.equal(analyse(view({ level: 6, disks: 5, failed: [0, 1] }), 0, 512).failed.length, 2);
  });
});

describe('writes: read-modify-write or reconstruct-write by md counts', () => {
  // RAID-5 and RAID-6 rows are left-symmetric row 0; RAID-4 keeps P on the last member.
  const cases: Array<{ name: string; level: number; disks: number; write: number; kind: string; reads: number }> = [
    { name: 'RAID-5, 5 members, one chunk: rmw reads D+P (2) < rcw 3', level: 5, disks: 5, write: 1, kind: 'write-rmw', reads: 2 },
    { name: 'RAID-5, 5 members, two chunks: rcw reads 2 < rmw 3', level: 5, disks: 5, write: 2, kind: 'write-rcw', reads: 2 },
    { name: 'RAID-5, 4 members, one chunk: a 2-2 tie goes to rcw', level: 5, disks: 4, write: 1, kind: 'write-rcw', reads: 2 },
    { name: 'RAID-4, 5 members, one chunk: rmw 2 < rcw 3', level: 4, disks: 5, write: 1, kind: 'write-rmw', reads: 2 },
    { name: 'RAID-4, 4 members, one chunk: tie, rcw', level: 4, disks: 4, write: 1, kind: 'write-rcw', reads: 2 },
    { name: 'RAID-6, 6 members, one chunk: rmw D+P+Q 3 ties rcw 3, rcw', level: 6, disks: 6, write: 1, kind: 'write-rcw', reads: 3 },
    { name: 'RAID-6, 8 members, one chunk: rmw 3 < rcw 5', level: 6, disks: 8, write: 1, kind: 'write-rmw', reads: 3 },
    { name: 'RAID-6, 8 members, three chunks: rcw 3 < rmw 5', level: 6, disks: 8, write: 3, kind: 'write-rcw', reads: 3 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = view({ level: c.level, disks: c.disks });
      const written = v.row.dataDisks.slice(0, c.write);
      const p = planWrite(v, written.map(whole));
      assert.equal(p.kind, c.kind);
      assert.equal(p.reads.length, c.reads);
      const parity = v.row.qd >= 0 ? [v.row.pd, v.row.qd] : [v.row.pd];
      const expectReads = c.kind === 'write-rmw' ? [...written, ...parity] : v.row.dataDisks.filter((d) => !written.includes(d));
      assert.deepEqual(disksOf(p.reads), sorted(expectReads));
      assert.deepEqual(ops(p), c.kind === 'write-rmw' ? ['prexor', 'biodrain', 'reconstruct'] : ['biodrain', 'reconstruct']);
      assert.deepEqual(disksOf(p.writes), sorted([...written, ...parity]));
      assert.ok(p.writes.every((w) => w.user === undefined && w.lo === 0 && w.hi === UNIT), 'written from the head, after the drain');
    });
  }

  it('rmw folds exactly the written members in and out of parity', () => {
    const v = view({ level: 5, disks: 6 });
    const d = v.row.dataDisks[2]!;
    const p = planWrite(v, [{ disk: d, lo: 1024, hi: 3072 }]);
    assert.equal(p.kind, 'write-rmw');
    const [prexor, drain, rec] = p.chain;
    assert.deepEqual(prexor, { op: 'prexor', blocks: { lo: 1024, hi: 3072 }, disks: [d] });
    assert.deepEqual(drain, { op: 'biodrain', blocks: { lo: 1024, hi: 3072 }, copies: [{ extent: 0, disk: d, at: 0, len: 2048 }] });
    assert.deepEqual(rec, { op: 'reconstruct', blocks: { lo: 1024, hi: 3072 }, rmw: [d] });
  });

  it('an unaligned write is widened to whole sectors and reads the rest of them (sector read-modify-write)', () => {
    const v = view({ level: 5, disks: 5 });
    const d = v.row.dataDisks[0]!;
    const p = planWrite(v, [{ disk: d, lo: 100, hi: 700 }]);
    // rcw would read all four data members (the written one is not overwritten), rmw two.
    assert.equal(p.kind, 'write-rmw');
    assert.ok(p.reads.every((r) => r.lo === 0 && r.hi === 1024));
    assert.deepEqual(disksOf(p.reads), sorted([d, v.row.pd]));
    const drain = p.chain.find((s) => s.op === 'biodrain');
    assert.deepEqual(drain?.op === 'biodrain' && drain.copies, [{ extent: 0, disk: d, at: 100, len: 600 }]);
  });

  it('blocks already in the head cost no read: with old data and P cached, rmw reads nothing', () => {
    const base = view({ level: 5, disks: 5 });
    const d = base.row.dataDisks[1]!;
    const v = view({ level: 5, disks: 5, cached: [[d, 0, UNIT], [base.row.pd, 0, UNIT]] });
    const p = planWrite(v, [whole(d)]);
    assert.equal(p.kind, 'write-rmw');
    assert.equal(p.reads.length, 0);
    // With the other data cached instead, rcw reads nothing.
    const others = base.row.dataDisks.filter((x) => x !== d).map((x): [number, number, number] => [x, 0, UNIT]);
    const q = planWrite(view({ level: 5, disks: 5, cached: others }), [whole(d)]);
    assert.equal(q.kind, 'write-rcw');
    assert.equal(q.reads.length, 0);
  });

  it('every data member covered: full-stripe write straight from the caller, no reads, the data buffers left stale', () => {
    for (const [level, disks] of [[4, 4], [5, 5], [6, 6]] as const) {
      const v = view({ level, disks });
      const extents = v.row.dataDisks.map(whole);
      const p = planWrite(v, extents);
      assert.equal(p.kind, 'write-full');
      assert.equal(p.reads.length, 0);
      assert.equal(p.chain.length, 1);
      const rec = p.chain[0]!;
      assert.equal(rec.op, 'reconstruct');
      assert.deepEqual(rec.blocks.user, Object.fromEntries(extents.map((e, i) => [e.disk, i])));
      assert.deepEqual(
        p.writes.filter((w) => w.user !== undefined).map((w) => [w.disk, w.user]),
        extents.map((e, i) => [e.disk, i]),
      );
      assert.deepEqual(disksOf(p.writes), sorted(v.readableTo.map((_, i) => i)));
      assert.deepEqual(sorted(p.stale), sorted(v.row.dataDisks));
    }
  });
});

describe('degraded writes', () => {
  it('a lost data member not overwritten is computed first from every survivor, then the stripe is reconstruct-written', () => {
    const base = view({ level: 5, disks: 5 });
    const [d0, d1] = base.row.dataDisks as [number, number];
    const v = view({ level: 5, disks: 5, failed: [d1] });
    const p = planWrite(v, [whole(d0)]);
    assert.equal(p.kind, 'write-degraded');
    assert.deepEqual(disksOf(p.reads), [0, 1, 2, 3, 4].filter((d) => d !== d1));
    assert.deepEqual(ops(p), ['compute', 'biodrain', 'reconstruct']);
    assert.deepEqual(p.chain[0], { op: 'compute', blocks: { lo: 0, hi: UNIT }, missing: [d1], want: [d1] });
    assert.deepEqual(disksOf(p.writes), sorted([d0, base.row.pd]), 'the missing member takes no write');
  });

  it('a lost member wholly overwritten needs no compute, and rmw (which would read it) is never chosen', () => {
    // RAID-5 on 6 members: one chunk would be rmw when healthy (2 < 4).
    const base = view({ level: 5, disks: 6 });
    const d = base.row.dataDisks[0]!;
    assert.equal(planWrite(base, [whole(d)]).kind, 'write-rmw');
    const p = planWrite(view({ level: 5, disks: 6, failed: [d] }), [whole(d)]);
    assert.equal(p.kind, 'write-rcw');
    assert.deepEqual(disksOf(p.reads), sorted(base.row.dataDisks.slice(1)));
  });

  it('with P lost, the write is reconstruct-written and P is not written', () => {
    const base = view({ level: 5, disks: 6 });
    const d = base.row.dataDisks[0]!;
    const p = planWrite(view({ level: 5, disks: 6, failed: [base.row.pd] }), [whole(d)]);
    assert.equal(p.kind, 'write-rcw');
    assert.deepEqual(disksOf(p.writes), [d]);
  });

  it('RAID-6 with two data members lost computes both; a member being rebuilt is written its new bytes', () => {
    const base = view({ level: 6, disks: 6 });
    const [d0, d1, d2] = base.row.dataDisks as [number, number, number];
    const v = view({ level: 6, disks: 6, failed: [d1], recovering: [[d2, 0]] });
    const p = planWrite(v, [whole(d0)]);
    assert.equal(p.kind, 'write-degraded');
    assert.deepEqual(p.chain[0], { op: 'compute', blocks: { lo: 0, hi: UNIT }, missing: [d1, d2].sort((a, b) => a - b), want: [d1, d2].sort((a, b) => a - b) });
    assert.deepEqual(disksOf(p.writes), sorted([d0, d2, base.row.pd, base.row.qd]));
  });
});

describe('reads', () => {
  it('healthy: cached extents come from the head (biofill), the rest straight from their members into the caller', () => {
    const base = view({ level: 5, disks: 5 });
    const [d0, d1] = base.row.dataDisks as [number, number];
    const v = view({ level: 5, disks: 5, cached: [[d1, 0, UNIT]] });
    const p = planRead(v, [{ disk: d0, lo: 512, hi: UNIT }, { disk: d1, lo: 0, hi: 4096 }]);
    assert.equal(p.kind, 'read');
    assert.deepEqual(p.reads, [{ disk: d0, lo: 512, hi: UNIT, user: 0 }]);
    assert.deepEqual(p.chain, [{ op: 'biofill', blocks: { lo: 0, hi: UNIT }, copies: [{ extent: 1, disk: d1, at: 0, len: 4096 }] }]);
    assert.equal(p.writes.length, 0);
  });

  it('degraded: the lost extent is rebuilt in the head from the stale survivors and copied out', () => {
    const base = view({ level: 5, disks: 5 });
    const [d0, d1] = base.row.dataDisks as [number, number];
    const v = view({ level: 5, disks: 5, failed: [d1], cached: [[base.row.pd, 0, UNIT]] });
    const p = planRead(v, [{ disk: d0, lo: 0, hi: 1024 }, { disk: d1, lo: 100, hi: 900 }]);
    assert.equal(p.kind, 'read-degraded');
    const survivors = [0, 1, 2, 3, 4].filter((d) => d !== d1 && d !== base.row.pd);
    assert.deepEqual(p.reads, [{ disk: d0, lo: 0, hi: 1024, user: 0 }, ...survivors.map((disk) => ({ disk, lo: 0, hi: 1024 }))]);
    assert.deepEqual(p.chain, [
      { op: 'compute', blocks: { lo: 0, hi: 1024 }, missing: [d1], want: [d1] },
      { op: 'biofill', blocks: { lo: 0, hi: 1024 }, copies: [{ extent: 1, disk: d1, at: 100, len: 800 }] },
    ]);
    assert.deepEqual(p.valid, { disks: [d1], lo: 0, hi: 1024 });
  });

  it('a whole degraded row is read into the caller; RAID-6 reads Q only when P cannot do the rebuild', () => {
    const base = view({ level: 6, disks: 6 });
    const { pd, qd, dataDisks } = base.row;
    const d1 = dataDisks[1]!;
    const extents = dataDisks.map((disk) => ({ disk, lo: 0, hi: 8192 }));
    const p = planRead(view({ level: 6, disks: 6, failed: [d1] }), extents);
    assert.equal(p.kind, 'read-row');
    assert.deepEqual(disksOf(p.reads), sorted([...dataDisks.filter((d) => d !== d1), pd]));
    assert.ok(p.reads.every((r) => (r.disk === pd ? r.user === undefined : r.user === dataDisks.indexOf(r.disk))));
    assert.equal(p.chain.length, 1);
    const c = p.chain[0]!;
    assert.ok(c.op === 'compute');
    assert.deepEqual([c.missing, c.want, c.blocks.absent], [[d1], [d1], [qd]]);
    // P lost too: Q is read, and only the data block must come out right.
    const q = planRead(view({ level: 6, disks: 6, failed: [d1, pd] }), extents);
    assert.deepEqual(disksOf(q.reads), sorted([...dataDisks.filter((d) => d !== d1), qd]));
    const c2 = q.chain[0]!;
    assert.ok(c2.op === 'compute');
    assert.deepEqual([sorted(c2.missing), c2.want, c2.blocks.absent], [sorted([d1, pd]), [d1], []]);
  });

  it('a row read of unaligned or unequal extents takes the general path', () => {
    const base = view({ level: 5, disks: 4 });
    const v = view({ level: 5, disks: 4, failed: [base.row.dataDisks[0]!] });
    assert.equal(planRead(v, base.row.dataDisks.map((disk) => ({ disk, lo: 0, hi: 1000 }))).kind, 'read-degraded');
    assert.equal(planRead(v, base.row.dataDisks.map((disk, i) => ({ disk, lo: 0, hi: 512 * (i + 1) }))).kind, 'read-degraded');
  });

  it('a member rebuilt past an extent serves it; one rebuilt only part way is computed for it', () => {
    const base = view({ level: 5, disks: 4 });
    const d = base.row.dataDisks[0]!;
    const v = view({ level: 5, disks: 4, recovering: [[d, 4096]] });
    assert.equal(planRead(v, [{ disk: d, lo: 0, hi: 4096 }]).kind, 'read');
    assert.equal(planRead(v, [{ disk: d, lo: 0, hi: 4097 }]).kind, 'read-degraded');
  });
});

describe('check, repair, resync, recover', () => {
  it('check reads every member and validates per page; repair and resync rewrite P/Q on a mismatch', () => {
    for (const [level, disks] of [[4, 4], [5, 5], [6, 6]] as const) {
      const v = view({ level, disks });
      const parity = v.row.qd >= 0 ? [v.row.pd, v.row.qd] : [v.row.pd];
      const check = planSync(v, 0, UNIT, 'check');
      assert.equal(check.kind, 'check');
      assert.equal(check.reads.length, disks);
      assert.deepEqual(check.chain, [{ op: 'check', blocks: { lo: 0, hi: UNIT }, page: CHECK_PAGE }]);
      assert.equal(check.onMismatch, undefined);
      assert.equal(check.writes.length, 0);
      for (const mode of ['repair', 'resync'] as const) {
        const p = planSync(v, 0, UNIT, mode);
        assert.deepEqual(p.onMismatch?.chain, [{ op: 'reconstruct', blocks: { lo: 0, hi: UNIT } }]);
        assert.deepEqual(disksOf(p.onMismatch?.writes ?? []), sorted(parity));
      }
    }
  });

  it('a check with a member failed is skipped (nothing to compare against)', () => {
    const p = planSync(view({ level: 6, disks: 5, failed: [1] }), 0, UNIT, 'repair');
    assert.equal(p.kind, 'skip');
    assert.equal(p.reads.length + p.chain.length + p.writes.length, 0);
  });

  it('recover computes every member not readable here and writes those that take writes', () => {
    const v = view({ level: 6, disks: 6, failed: [1], recovering: [[3, 0]] });
    const p = planSync(v, 0, UNIT, 'recover');
    assert.equal(p.kind, 'recover');
    assert.deepEqual(disksOf(p.reads), [0, 2, 4, 5]);
    assert.deepEqual(p.chain, [{ op: 'compute', blocks: { lo: 0, hi: UNIT }, missing: [1, 3], want: [1, 3] }]);
    assert.deepEqual(p.writes, [{ disk: 3, lo: 0, hi: UNIT }]);
    // Rebuilt past this head already: nothing to compute or write.
    const done = planSync(view({ level: 6, disks: 6, failed: [1] }), 0, UNIT, 'recover');
    assert.deepEqual([done.chain.length, done.writes.length], [0, 0]);
  });
});

describe('md counts over random healthy writes', () => {
  it("the plan reads min(rmw, rcw) members as handle_stripe_dirtying counts them, rcw on a tie, and only what it names", () => {
    const shape = fc.oneof(
      fc.record({ level: fc.constant(4), disks: fc.integer({ min: 3, max: 9 }) }),
      fc.record({ level: fc.constant(5), disks: fc.integer({ min: 3, max: 9 }) }),
      fc.record({ level: fc.constant(6), disks: fc.integer({ min: 4, max: 10 }) }),
    );
    fc.assert(
      fc.property(shape, fc.integer({ min: 0, max: 40 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 10, maxLength: 10 }), fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }), (s, stripe, what, cache) => {
        const base = view({ ...s, stripe });
        const { row } = base;
        const members = base.readableTo.map((_, d) => d);
        const v = view({ ...s, stripe, cached: members.filter((d) => cache[d]).map((d): [number, number, number] => [d, 0, UNIT]) });
        // Per data member: 0 untouched, 1 overwritten, 2 head of the range written, 3 tail.
        const extents = row.dataDisks.flatMap((disk, k): ExtentShape[] => {
          const w = what[k % what.length]!;
          return w === 0 ? [] : [{ disk, lo: w === 3 ? 4096 : 0, hi: w === 2 ? 4096 : UNIT }];
        });
        if (extents.length === 0) return;
        const p = planWrite(v, extents);
        const lo = Math.min(...extents.map((e) => e.lo));
        const hi = Math.max(...extents.map((e) => e.hi));
        const uptodate = (d: number) => cache[d]!;
        const overwrite = (d: number) => extents.some((e) => e.disk === d && e.lo <= lo && e.hi >= hi);
        const parity = row.qd >= 0 ? [row.pd, row.qd] : [row.pd];
        const rmw = members.filter((d) => (extents.some((e) => e.disk === d) || parity.includes(d)) && !uptodate(d));
        const rcw = row.dataDisks.filter((d) => !overwrite(d) && !uptodate(d));
        if (row.dataDisks.every(overwrite)) {
          assert.equal(p.kind, 'write-full');
          assert.equal(p.reads.length, 0);
          return;
        }
        assert.equal(p.kind, rmw.length < rcw.length ? 'write-rmw' : 'write-rcw');
        assert.deepEqual(disksOf(p.reads), sorted(rmw.length < rcw.length ? rmw : rcw));
        for (const io of [...p.reads, ...p.writes]) assert.ok(io.lo === lo && io.hi === hi && io.user === undefined);
        assert.deepEqual(disksOf(p.writes), sorted([...extents.map((e) => e.disk), ...parity]));
      }),
      { numRuns: 300 },
    );
  });
});
