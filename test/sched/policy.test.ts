/** The placement policies (sched/policy.ts), on their own: auto, offload, inline, the threshold rule, and a caller's policy held to its contract. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/index.js';
import { Channel, type Device, type HwDescriptor, type HwOp } from '../../src/provider.js';
import { CostModel } from '../../src/sched/cost.js';
import {
  autoPolicy, checkedPolicy, INLINE, inlinePolicy, offloadPolicy, PLACEMENT_DEFAULTS, thresholdPolicy, type PlacementContext,
} from '../../src/sched/policy.js';

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

  it('weighs main-thread time by PLACEMENT_DEFAULTS.mainThreadWeight unless told otherwise', () => {
    // Inline and engine equally fast, no overhead, no hand-off: only the weight on inline time decides.
    const even = new CostModel();
    even.seedThroughput(INLINE, 'xor', 1);
    even.seedThroughput('worker', 'xor', 1);
    const op = xorOp(65536);
    const queued = (ns: number) => where([a], new Map([[a, ns]]));
    const inlineNs = 2 * 65536;
    const byDefault = autoPolicy(even, { handoffNs: () => 0 });
    const w = PLACEMENT_DEFAULTS.mainThreadWeight;
    // Offloading costs queue + service; inline costs service × (1 + w).
    assert.equal(byDefault(op, queued(inlineNs * w - 1)), a);
    assert.equal(byDefault(op, queued(inlineNs * w + 1)), null);
    assert.equal(autoPolicy(even, { handoffNs: () => 0, mainThreadWeight: 0 })(op, queued(0)), null, 'weight 0: a tie goes inline');
  });

  it('with no capable channel, runs inline', () => {
    assert.equal(policy(xorOp(1 << 20, 8), where([])), null);
  });
});

describe('offload and inline policies', () => {
  const a = new FakeChannel(device('worker'), 0);
  const b = new FakeChannel(device('worker'), 1);

  it('offload never chooses inline while a channel is capable', () => {
    assert.notEqual(offloadPolicy()(xorOp(16), where([a, b])), null);
    assert.equal(offloadPolicy()(xorOp(16), where([])), null);
  });

  it('offload takes the least queued work; on a tie, the parent channel, else table order', () => {
    const off = offloadPolicy();
    assert.equal(off(xorOp(16), where([a, b], new Map([[a, 10]]))), b);
    assert.equal(off(xorOp(16), where([a, b])), a);
    assert.equal(off(xorOp(16), where([a, b], new Map(), b)), b);
  });

  it('inline never offloads', () => {
    assert.equal(inlinePolicy(xorOp(1 << 20), where([a, b])), null);
  });
});

describe('threshold policy (offloadThreshold)', () => {
  const a = new FakeChannel(device('worker'), 0);
  const b = new FakeChannel(device('worker'), 1);

  it('offloads from exactly the threshold of source bytes up, inline below', () => {
    const t = thresholdPolicy(8192);
    assert.equal(t(xorOp(4096, 2), where([a, b])), a, '2 × 4096 source bytes: at the threshold');
    assert.equal(t(xorOp(4095, 2), where([a, b])), null);
    assert.equal(thresholdPolicy(0)({ kind: 'interrupt' }, where([a])), a, 'threshold 0 offloads everything');
  });

  it('picks the channel with the fewest descriptors outstanding, ties in table order', () => {
    const t = thresholdPolicy(0);
    a.inFlight = 3;
    b.inFlight = 1;
    assert.equal(t(xorOp(16), where([a, b])), b);
    b.inFlight = 3;
    assert.equal(t(xorOp(16), where([a, b])), a);
    a.inFlight = b.inFlight = 0;
  });
});

describe("a caller's policy (checkedPolicy)", () => {
  const a = new FakeChannel(device('worker'), 0);
  const stranger = new FakeChannel(device('other'), 0);

  it('passes an offered channel or null through', () => {
    assert.equal(checkedPolicy(() => a, 'p')(xorOp(16), where([a])), a);
    assert.equal(checkedPolicy(() => null, 'p')(xorOp(16), where([a])), null);
  });

  it('refuses anything else with InvalidArgumentError naming the policy and the operation', () => {
    for (const answer of [stranger, undefined, 'worker/0', {}]) {
      const p = checkedPolicy(() => answer as unknown as Channel, 'createClient: options.policy');
      assert.throws(() => p(xorOp(16), where([a])), (e: unknown) => e instanceof InvalidArgumentError && /^createClient: options\.policy returned .* for xor;/.test(e.message));
    }
  });

  it("lets the caller's own throw through (dispatch turns it into that descriptor's error)", () => {
    const boom = new Error('policy bug');
    assert.throws(() => checkedPolicy(() => { throw boom; }, 'p')(xorOp(16), where([a])), (e: unknown) => e === boom);
  });
});
