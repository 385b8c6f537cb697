/**
 * Power loss (volatile write caches, torn writes) on healthy RAID-5/6: after
 * recovery no flushed write is lost, nothing unwritten changed, parity agrees.
 * On degraded arrays without a log the write hole is measured, not hidden;
 * RAID-5 with a partial parity log closes it (0 violations degraded too).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PowerLossMember, seededRandom } from '../../src/raid/power_loss_member.js';
import { runPowerLoss } from './power_loss_run.js';

const SEEDS = Number(process.env.ASYNCTX_POWER_LOSS_SEEDS ?? 150);

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
    it(`healthy RAID-${level}: ${SEEDS} seeds, 0 violations, 0 mismatches after recovery`, async () => {
      const bad: string[] = [];
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = await runPowerLoss({ seed: seed * 7919 + level, level, degraded: 0 });
        if (r.violations || r.mismatches) bad.push(`seed ${r.seed}: ${r.violations} sectors wrong, ${r.mismatches} mismatches`);
      }
      assert.deepEqual(bad, []);
    });
  }

  it(`RAID-5 with PPL, degraded: ${Math.ceil(SEEDS / 3)} seeds, 0 violations (the write hole closed); healthy: ${Math.ceil(SEEDS / 5)} seeds, 0 mismatches too`, async () => {
    const bad: string[] = [];
    for (let seed = 1; seed <= Math.ceil(SEEDS / 3); seed++) {
      // One run in three on a 64 KiB area (one header, MD_FEATURE_PPL) instead of mdadm's 1 MiB.
      const r = await runPowerLoss({ seed: seed * 65537 + 11, level: 5, degraded: 1, ppl: seed % 3 === 0 ? 'small' : true });
      if (r.violations) bad.push(`degraded seed ${r.seed}: ${r.violations} sectors wrong`);
    }
    for (let seed = 1; seed <= Math.ceil(SEEDS / 5); seed++) {
      const r = await runPowerLoss({ seed: seed * 257 + 3, level: 5, degraded: 0, ppl: true });
      if (r.violations || r.mismatches) bad.push(`healthy seed ${r.seed}: ${r.violations} sectors wrong, ${r.mismatches} mismatches`);
    }
    assert.deepEqual(bad, []);
  });

  it('degraded RAID-5 without a log: the write hole is there to be closed (violations counted)', async () => {
    let violations = 0;
    for (let seed = 1; seed <= Math.ceil(SEEDS / 6); seed++) violations += (await runPowerLoss({ seed: seed * 65537 + 11, level: 5, degraded: 1 })).violations;
    console.log(`# write hole: degraded RAID-5 without PPL, ${Math.ceil(SEEDS / 6)} power cuts, ${violations} sectors not explained by any write`);
    assert.ok(violations > 0, 'the same runs without a log show the hole, so the PPL runs above test something');
  });

  it('degraded RAID-6 without a journal: the write hole is counted (and every run recovers)', async () => {
    let violations = 0;
    let runs = 0;
    for (let seed = 1; seed <= Math.ceil(SEEDS / 3); seed++) {
      const r = await runPowerLoss({ seed: seed * 104729, level: 6, degraded: 2 });
      violations += r.violations;
      runs++;
    }
    console.log(`# write hole: degraded RAID-6 (2 missing), ${runs} power cuts, ${violations} sectors not explained by any write`);
    assert.ok(runs > 0);
  });
});
