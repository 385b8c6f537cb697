/** The cost model and the staging for re-runs, on their own (the policies: policy.test.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CostModel, sizeClass, sizeClassName } from '../../src/sched/cost.js';
import { readsItsOutput, Stage } from '../../src/sched/stage.js';

describe('cost model', () => {
  it('size classes split at 4K, 16K, 64K, 256K, 1M', () => {
    assert.deepEqual([1, 4096, 4097, 65536, 1048576, 1048577].map(sizeClass), [0, 0, 1, 2, 4, 5]);
    assert.equal(sizeClassName(0), '≤4K');
    assert.equal(sizeClassName(5), '>1M');
  });

  it('estimates from seeds, then follows observations', () => {
    const m = new CostModel();
    m.seedThroughput('w', 'pq', 10); // 10 GB/s = 0.1 ns per byte
    assert.equal(m.serviceNs('w', 'pq', 1_000_000), 100_000);
    for (let i = 0; i < 40; i++) m.observe('w', 'pq', 1_000_000, 400_000);
    const est = m.serviceNs('w', 'pq', 1_000_000);
    assert.ok(Math.abs(est - 400_000) < 20_000, `converged to the observed rate, got ${est}`);
    assert.equal(m.serviceNs('w', 'pq', 4096), 409.6, 'other size classes keep their seed');
    assert.ok(m.table().some((r) => r.engine === 'w' && r.op === 'pq' && r.samples === 40));
  });

  it('ignores nonsense observations', () => {
    const m = new CostModel();
    m.seedThroughput('w', 'xor', 1);
    m.observe('w', 'xor', 0, 5);
    m.observe('w', 'xor', 100, -1);
    m.observe('w', 'xor', 100, Number.NaN);
    assert.equal(m.serviceNs('w', 'xor', 100), 100);
  });
});

describe('staging for re-runs', () => {
  it('knows which operations read their own output', () => {
    const d = new Uint8Array(8);
    assert.equal(readsItsOutput({ kind: 'xor', dest: d, srcs: [d, new Uint8Array(8)] }), true);
    assert.equal(readsItsOutput({ kind: 'xor', dest: d, srcs: [new Uint8Array(8), new Uint8Array(8)] }), false);
    assert.equal(readsItsOutput({ kind: 'pq', data: [d, d], p: new Uint8Array(8), q: null, rmw: true }), true);
    assert.equal(readsItsOutput({ kind: 'pq', data: [d, d], p: new Uint8Array(8), q: null, rmw: false }), false);
    assert.equal(Stage.of({ kind: 'memset', dest: d, value: 1 }), null);
  });

  it('restores the destination as it was before the first attempt', () => {
    const dest = new Uint8Array([1, 2, 3, 4]);
    const stage = Stage.of({ kind: 'xor', dest, srcs: [dest, new Uint8Array(4)] })!;
    dest.fill(0xee);
    stage.restore();
    assert.deepEqual(dest, new Uint8Array([1, 2, 3, 4]));
  });
});
