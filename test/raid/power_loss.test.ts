/**
 * Power loss (volatile write caches, torn writes) on healthy RAID-5/6: after
 * recovery no flushed write is lost, nothing unwritten changed, parity agrees.
 * On degraded arrays without a log the write hole is measured, not hidden;
 * RAID-5 with a partial parity log closes it (0 violations degraded too).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PowerLossMember, seededRandom } from '../../src/raid/power_loss_member.js';
import { runPowerLoss, type PowerLossResult } from './power_loss_run.js';

const SEEDS = Number(process.env.ASYNCTX_POWER_LOSS_SEEDS ?? 150);

/** What no run may show, write hole or not: wrong bytes on a member the array still has, a failed write while redundancy remains. */
function problems(r: PowerLossResult): string[] {
  const out: string[] = [];
  if (r.outsideHole) out.push(`seed ${r.seed}: ${r.outsideHole} sectors wrong on members the array has`);
  if (r.errors.length) out.push(`seed ${r.seed}: ${r.errors.length} writes failed before the cut (${r.errors[0]})`);
  return out;
}

describe('PowerLossMember', () => {
  it('acknowledges into a volatile cache: reads see it, a cut before sync may lose it, sync makes it durable', async () => {
    const m = new PowerLossMember('m', 4096);
    await m.write(new Uint8Array(512).fill(7), 512);
    const seen = new Uint8Array(512);
    await m.read(seen, 512);
    assert.equal(seen[0], 7);
    await m.sync();
    await m.write(new Uint8Array(1024).fill(9), 0);
    const { image, report } = m.powerCut(seededRandom(3));
    assert.equal(report.kept + report.dropped + report.torn, 1);
    assert.ok(image.subarray(512, 1024).every((b) => b === 7 || b === 9));
    assert.ok(image.subarray(1024).every((b) => b === 0));
    await assert.rejects(m.read(seen, 0), /after power loss/);
  });

  it('a FUA write is durable at once and wins over older cached writes to its sectors; a member told to die fails every I/O after', async () => {
    const m = new PowerLossMember('m', 4096);
    await m.write(new Uint8Array(2048).fill(1), 0);
    await m.writeFua!(new Uint8Array(512).fill(2), 512);
    assert.equal(new PowerLossMember('n', 512, { fua: false }).writeFua, undefined);
    // Whatever the cut does to the cached write, sectors 1 keeps the FUA bytes.
    for (let seed = 1; seed <= 8; seed++) {
      const copy = new PowerLossMember('c', 4096);
      await copy.write(new Uint8Array(2048).fill(1), 0);
      await copy.writeFua!(new Uint8Array(512).fill(2), 512);
      const { image } = copy.powerCut(seededRandom(seed));
      assert.ok(image.subarray(512, 1024).every((b) => b === 2), `seed ${seed}`);
      assert.ok(image.subarray(0, 512).every((b) => b === 0 || b === 1));
    }
    m.failAfterWrites(1);
    await m.write(new Uint8Array(512), 0);
    assert.equal(m.failed, false);
    await assert.rejects(m.write(new Uint8Array(512), 0), /EIO/);
    assert.equal(m.failed, true);
    await assert.rejects(m.read(new Uint8Array(512), 0), /EIO/);
    await assert.rejects(m.sync(), /EIO/);
  });

  it('tears at 512-byte sectors and replays the same cut from the same seed', () => {
    const cutWith = (seed: number) => {
      const m = new PowerLossMember('m', 64 * 512);
      void m.write(new Uint8Array(64 * 512).fill(1), 0);
      return m;
    };
    const a = cutWith(1);
    const b = cutWith(1);
    return Promise.resolve().then(() => {
      const x = a.powerCut(seededRandom(11)).image;
      const y = b.powerCut(seededRandom(11)).image;
      assert.deepEqual(x, y);
      for (let s = 0; s < 64; s++) assert.equal(new Set(x.subarray(s * 512, (s + 1) * 512)).size, 1, `sector ${s} torn inside`);
    });
  });
});

describe('power loss during writes', () => {
  for (const level of [5, 6] as const) {
    it(`healthy RAID-${level}: ${SEEDS} seeds, 0 violations, 0 mismatches after recovery; a member dying mid-run on every fourth leaves only the write hole`, async () => {
      const bad: string[] = [];
      let died = 0;
      let hole = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = await runPowerLoss({ seed: seed * 7919 + level, level, degraded: 0, failMidRun: seed % 4 === 0 });
        bad.push(...problems(r));
        if (r.failedMidRun) {
          died++;
          hole += r.violations;
        } else if (r.violations || r.mismatches) bad.push(`seed ${r.seed}: ${r.violations} sectors wrong, ${r.mismatches} mismatches`);
      }
      console.log(`# RAID-${level}: ${died} runs lost a member mid-run; ${hole} sectors of its chunks in torn stripes wrong (the hole), none elsewhere`);
      assert.deepEqual(bad, []);
      assert.ok(died > 0, 'some runs lose a member mid-run');
    });
  }

  it(`RAID-5 with PPL, degraded: ${Math.ceil(SEEDS / 3)} seeds, 0 violations (the write hole closed); healthy: ${Math.ceil(SEEDS / 5)} seeds, 0 mismatches too`, async () => {
    const bad: string[] = [];
    for (let seed = 1; seed <= Math.ceil(SEEDS / 3); seed++) {
      // One run in three on a 64 KiB area (one header, MD_FEATURE_PPL) instead of mdadm's 1 MiB.
      // Every other run on disks without FUA writes (the log then flushes whole members between batches).
      // One run in four mostly full stripes: several log headers in flight, each repeating the entries before it.
      const r = await runPowerLoss({ seed: seed * 65537 + 11, level: 5, degraded: 1, ppl: seed % 3 === 0 ? 'small' : true, noFua: seed % 2 === 0, fullStripes: seed % 4 === 1 ? 0.8 : undefined });
      bad.push(...problems(r));
      if (r.violations) bad.push(`degraded seed ${r.seed}: ${r.violations} sectors wrong`);
    }
    for (let seed = 1; seed <= Math.ceil(SEEDS / 5); seed++) {
      // Every other healthy run loses a member mid-run: the log still closes the hole.
      const r = await runPowerLoss({ seed: seed * 257 + 3, level: 5, degraded: 0, ppl: true, failMidRun: seed % 2 === 0, fullStripes: seed % 4 === 1 ? 0.8 : undefined });
      bad.push(...problems(r));
      if (r.violations || r.mismatches > 0) bad.push(`healthy seed ${r.seed}${r.failedMidRun ? ' (a member died)' : ''}: ${r.violations} sectors wrong, ${r.mismatches} mismatches`);
    }
    assert.deepEqual(bad, []);
  });

  it('degraded RAID-5 without a log: the write hole is there to be closed (violations counted)', async () => {
    let violations = 0;
    const bad: string[] = [];
    for (let seed = 1; seed <= Math.ceil(SEEDS / 6); seed++) {
      const r = await runPowerLoss({ seed: seed * 65537 + 11, level: 5, degraded: 1 });
      bad.push(...problems(r));
      violations += r.violations;
    }
    assert.deepEqual(bad, [], 'the hole reaches only the missing member');
    console.log(`# write hole: degraded RAID-5 without PPL, ${Math.ceil(SEEDS / 6)} power cuts, ${violations} sectors not explained by any write`);
    assert.ok(violations > 0, 'the same runs without a log show the hole, so the PPL runs above test something');
  });

  it('degraded RAID-6 without a journal: the write hole is counted (and every run recovers)', async () => {
    let violations = 0;
    let runs = 0;
    const bad: string[] = [];
    for (let seed = 1; seed <= Math.ceil(SEEDS / 3); seed++) {
      // Every other run starts with one member missing and loses the second mid-run.
      const r = await runPowerLoss({ seed: seed * 104729, level: 6, degraded: seed % 2 ? 2 : 1, failMidRun: seed % 2 === 0 });
      bad.push(...problems(r));
      violations += r.violations;
      runs++;
    }
    console.log(`# write hole: degraded RAID-6 (2 missing, or 1 and a second dying mid-run), ${runs} power cuts, ${violations} sectors not explained by any write`);
    assert.deepEqual(bad, [], 'the hole reaches only the missing members');
  });
});
