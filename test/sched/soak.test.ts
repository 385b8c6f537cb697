/**
 * The short soak (the long one is `npm run soak`): random chains under injected
 * failures, delays past the timeout, and worker deaths — every callback once,
 * every byte equal to the synchronous path, no unhandled rejection, no hang,
 * counters that add up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak } from './soak.js';

describe('soak under injected faults', () => {
  it('400 chains: errors, delays, timeouts and worker deaths all fail over', async () => {
    const report = await runSoak({
      chains: 400, seed: 7, workers: 2, concurrency: 16, deadlineMs: 120_000, timeoutMs: 150, maxLen: 16384, policy: 'offload',
      faults: { seed: 7, fail: 0.05, delay: 0.03, delayMs: [1, 250], crash: 0.01 },
    });
    assert.deepEqual(report.problems.slice(0, 10), []);
    assert.ok(report.injected.failed > 0 && report.injected.delayed > 0 && report.injected.crashed > 0, JSON.stringify(report.injected));
    assert.ok(report.failovers >= report.injected.failed);
    assert.ok(report.timeouts > 0, 'some delays outlived the timeout');
    assert.ok(report.respawned > 0, 'killed workers were replaced');
    assert.ok(report.offloaded > 0);
  });

  it('auto policy, no faults: mixed placement, same bytes', async () => {
    const report = await runSoak({
      chains: 200, seed: 11, workers: 2, concurrency: 8, deadlineMs: 60_000, timeoutMs: 10_000, maxLen: 65536, policy: 'auto', faults: {},
    });
    assert.deepEqual(report.problems.slice(0, 10), []);
    assert.equal(report.failovers, 0);
  });
});
