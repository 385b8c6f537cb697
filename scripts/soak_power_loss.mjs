// Power-loss soak: random writes and flushes, a power cut at a random instant,
// recovery, invariants (see test/raid/power_loss_run.ts). `npm run soak` runs it
// after the chain soak; `node scripts/soak_power_loss.mjs --seeds N --seed S`.
import { parseArgs } from 'node:util';
import { runPowerLoss } from '../dist/test/raid/power_loss_run.js';

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('usage: node scripts/soak_power_loss.mjs [--seeds N] [--seed S]\n  N power cuts (default 10000) from seed S (default 1); prints the totals as JSON, exits 1 on any violation outside the write hole');
  process.exit(0);
}
const seeds = Number(values.seeds);
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(Number(values.seed))) {
  console.error('--seeds and --seed take whole numbers (see --help)');
  process.exit(2);
}
const first = Number(values.seed);
const totals = {
  runs: 0,
  healthyViolations: 0,
  healthyMismatches: 0,
  degradedRuns: 0,
  degradedViolations: 0,
  diedMidRun: 0,
  diedMidRunHole: 0,
  pplRuns: 0,
  pplDegradedRuns: 0,
  pplDiedMidRun: 0,
  pplViolations: 0,
  pplMismatches: 0,
  violationsOutsideHole: 0,
  writeErrors: 0,
};
const bad = [];
for (let i = 0; i < seeds; i++) {
  const seed = first + i;
  const level = seed % 2 ? 5 : 6;
  // One run in four on an array degraded to its limit: the write hole, counted.
  const degraded = seed % 4 === 3 ? (level === 5 ? 1 : 2) : 0;
  // Half the RAID-5 runs log partial parity: 0 violations required, degraded or not.
  const ppl = level === 5 && seed % 8 >= 4;
  // One run in five loses a member mid-run, unless that would leave too few.
  const failMidRun = seed % 5 === 2 && degraded < (level === 5 ? 1 : 2);
  // Half the runs on disks without FUA writes: both ways the PPL orders its writes are soaked.
  // One run in three mostly full stripes: PPL headers pipelined, each repeating the unretired entries before it.
  const fullStripes = seed % 3 === 0 ? 0.8 : undefined;
  const r = await runPowerLoss({ seed, level, degraded, failMidRun, noFua: seed % 32 >= 16, ppl: ppl && seed % 16 >= 12 ? 'small' : ppl, fullStripes });
  totals.runs++;
  // Never allowed, write hole or not: wrong bytes on a member the array has, a write failing while redundancy remained.
  totals.violationsOutsideHole += r.outsideHole;
  totals.writeErrors += r.errors.length;
  if (r.outsideHole || r.errors.length) bad.push(`seed ${seed} RAID-${level}: ${r.outsideHole} sectors wrong outside the hole, ${r.errors.length} write errors`);
  if (ppl) {
    totals.pplRuns++;
    if (degraded) totals.pplDegradedRuns++;
    if (r.failedMidRun) totals.pplDiedMidRun++;
    totals.pplViolations += r.violations;
    totals.pplMismatches += Math.max(0, r.mismatches);
    if (r.violations || r.mismatches > 0) bad.push(`seed ${seed} RAID-5 PPL${degraded ? ' degraded' : ''}: ${r.violations} sectors wrong, ${r.mismatches} mismatches`);
  } else if (degraded) {
    totals.degradedRuns++;
    totals.degradedViolations += r.violations;
  } else if (r.failedMidRun) {
    // Degraded from the member's death on: torn stripes after it are the write hole, counted.
    totals.diedMidRun++;
    totals.diedMidRunHole += r.violations;
  } else {
    totals.healthyViolations += r.violations;
    totals.healthyMismatches += r.mismatches;
    if (r.violations || r.mismatches) bad.push(`seed ${seed} RAID-${level}: ${r.violations} sectors wrong, ${r.mismatches} mismatches`);
  }
  if (i % 100 === 99) process.stderr.write(`\r${i + 1} / ${seeds} power cuts`);
}
process.stderr.write('\n');
console.log(JSON.stringify(totals, null, 1));
for (const b of bad.slice(0, 20)) console.error(`problem: ${b}`);
process.exitCode = bad.length === 0 ? 0 : 1;
