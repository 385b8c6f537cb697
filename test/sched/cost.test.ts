/** The cost model and the placement policies, on their own. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Channel, type Device, type HwDescriptor, type HwOp } from '../../src/provider.js';
import { CostModel, sizeClass, sizeClassName } from '../../src/sched/cost.js';
import { autoPolicy, INLINE, offloadPolicy, type PlacementContext } from '../../src/sched/policy.js';
import { readsItsOutput, Stage } from '../../src/sched/stage.js';

class FakeChannel extends Channel {
  accepts(): boolean {
    return true;
  }
  protected enqueue(_d: HwDescriptor): void {}
  issuePending(): void {}
}
const device = (name: string): Device => ({ name, capabilities: 0x7f, limits: { maxSources: 255, alignment: 1 }, channels: [], close: async () => {} });

const xorOp = (len: number, sources = 2): HwOp => ({ kind: 'xor', dest: new Uint8Array(len), srcs: Array.from({ length: sources }, () => new Uint8Array(len)) });

function where(channels: Channel[], queued: Map<Channel, number> = new Map(), parentChannel: Channel | null = null): PlacementContext {
  return { channels, parentChannel, queuedNs: (c) => queued.get(c) ?? 0 };
}

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

describe('auto policy', () => {
  const m = new CostModel();
  m.seedThroughput(INLINE, 'xor', 10);
  m.seedThroughput('worker', 'xor', 10);
  m.setOverhead('worker', 20_000);
  const a = new FakeChannel(device('worker'), 0);
  const b = new FakeChannel(device('worker'), 1);
  const policy = autoPolicy(m, { mainThreadWeight: 1, handoffNs: () => 2000 });

  it('keeps small operations inline and offloads large ones', () => {
    assert.equal(policy(xorOp(4096), where([a, b])), null);
    assert.notEqual(policy(xorOp(1 << 20, 8), where([a, b])), null);
  });

  it('prefers the channel with less queued work', () => {
    const q = new Map<Channel, number>([[a, 5_000_000]]);
    assert.equal(policy(xorOp(1 << 20, 8), where([a, b], q)), b);
  });

  it('keeps a chain on its parent channel unless another is clearly better', () => {
    const q = new Map<Channel, number>([[a, 50_000]]);
    assert.equal(policy(xorOp(1 << 20, 8), where([a, b], q, a)), a, 'slightly busier parent channel: stay');
    q.set(a, 10_000_000);
    assert.equal(policy(xorOp(1 << 20, 8), where([a, b], q, a)), b, 'much busier parent channel: move');
  });

  it('offload policy never chooses inline while a channel is capable', () => {
    assert.notEqual(offloadPolicy()(xorOp(16), where([a, b])), null);
    assert.equal(offloadPolicy()(xorOp(16), where([])), null);
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
