// The long soak (issue: scheduler): 10 000 random chains on a client with two
// workers under injected failures, delays past the timeout and worker deaths,
// each checked against the synchronous path. `npm run soak [-- --chains N --seed S]`.
import { parseArgs } from 'node:util';
import { runSoak } from '../dist/test/sched/soak.js';

const { values } = parseArgs({
  options: {
    chains: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    policy: { type: 'string', default: 'offload' },
  },
});
const chains = Number(values.chains);
const seed = Number(values.seed);
const options = {
  chains, seed, workers: Number(values.workers), concurrency: 16, deadlineMs: Math.max(120_000, chains * 60),
  timeoutMs: 150, maxLen: 65536, policy: values.policy,
  faults: { seed, fail: 0.03, delay: 0.02, delayMs: [1, 250], crash: 0.005 },
  progress: (n) => process.stderr.write(`\r${n} / ${chains} chains`),
};
console.error(`soak: ${chains} chains, seed ${seed}, ${options.workers} workers, policy ${options.policy}, faults ${JSON.stringify(options.faults)}`);
const r = await runSoak(options);
process.stderr.write('\n');
const { problems, ...figures } = r;
console.log(JSON.stringify({ ...figures, elapsedMs: Math.round(figures.elapsedMs), problems: problems.length }, null, 1));
for (const p of problems.slice(0, 20)) console.error(`problem: ${p}`);
process.exitCode = problems.length === 0 ? 0 : 1;
