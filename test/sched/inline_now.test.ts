/**
 * Scheduler.inlineNow, the scheduler's half of the synchronous fast path: it may say
 * "inline" only where choose() would keep the step inline for any descriptor — the
 * inline policy, auto with a step cheaper inline than any hand-off, or no engine
 * channel that takes the step — and must not say so where an engine could get it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { bindOps } from '../../src/async_tx/client.js';
import { TxContext } from '../../src/async_tx/context.js';
import { TxDescriptor } from '../../src/async_tx/submit.js';
import { ALL_CAPABILITIES, Channel, DmaStatus, OperationError, type Device, type HwOp } from '../../src/provider.js';
import type { Policy } from '../../src/sched/policy.js';
import { Scheduler } from '../../src/sched/scheduler.js';

/** An engine channel that takes memset only, or everything; it never runs anything here. */
class IdleChannel extends Channel {
  constructor(name: string, private readonly memsetOnly: boolean) {
    const device: Device = { name, capabilities: ALL_CAPABILITIES, limits: { maxSources: 255, alignment: 1 }, channels: [], close: async () => {} };
    super(device, 0);
  }
  accepts(op: HwOp): boolean {
    return !this.memsetOnly || op.kind === 'memset';
  }
  protected enqueue(): void {}
  issuePending(): void {}
}

const schedulers: Scheduler[] = [];
after(() => schedulers.forEach((s) => s.close()));

function setUp(policy: 'inline' | 'auto' | 'offload' | 'custom', engines: Channel[], withSoftware: boolean) {
  let asked = 0;
  const custom: Policy = (_op, where) => (asked++, where.channels[0] ?? null);
  let ctx: TxContext | null = null;
  const scheduler = new Scheduler(() => (withSoftware && ctx !== null ? [...engines, ctx.softwareChannel] : engines), {
    policy: policy === 'custom' ? custom : policy,
    timeoutMs: 10_000,
  });
  schedulers.push(scheduler);
  ctx = new TxContext('inline-now', scheduler);
  return { scheduler, ctx, asked: () => asked };
}

const memset = (len: number): HwOp => ({ kind: 'memset', dest: new Uint8Array(len), value: 1 });
const xor = (len: number): HwOp => ({ kind: 'xor', dest: new Uint8Array(len), srcs: [new Uint8Array(len), new Uint8Array(len)] });

describe('Scheduler.inlineNow', () => {
  it('says inline only where choose() keeps the step inline, and asks no policy for it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('inline', 'auto', 'offload', 'custom' as const),
        fc.array(fc.boolean(), { maxLength: 2 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 1 << 22 }),
        (policy, engineKinds, withSoftware, isXor, len) => {
          const engines = engineKinds.map((memsetOnly, i) => new IdleChannel(`e${i}`, memsetOnly));
          const { scheduler, ctx, asked } = setUp(policy, engines, withSoftware);
          const op = isXor ? xor(len) : memset(len);
          if (!scheduler.inlineNow(op, ctx)) return;
          const tx = new TxDescriptor(ctx, op.kind, 0, null, null);
          assert.equal(scheduler.choose(op, tx), null, `${policy}: inlineNow said inline, choose placed it`);
          assert.equal(asked(), 0, 'the policy was asked');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('leaves a step an engine takes to choose(), and passes one no engine takes', () => {
    const engines = [new IdleChannel('e0', true)];
    const { scheduler, ctx } = setUp('offload', engines, true);
    assert.equal(scheduler.inlineNow(memset(4096), ctx), false, 'an engine takes memset');
    assert.equal(scheduler.inlineNow(xor(4096), ctx), true, 'no engine takes xor');
    const custom = setUp('custom', engines, false);
    assert.equal(custom.scheduler.inlineNow(memset(4096), custom.ctx), false);
    assert.equal(custom.scheduler.inlineNow(xor(4096), custom.ctx), true);
    const inline = setUp('inline', engines, false);
    assert.equal(inline.scheduler.inlineNow(memset(1 << 22), inline.ctx), true);
  });

  it('a device whose accepts() throws fails the step, as choose() does, instead of throwing at the caller', () => {
    class Broken extends IdleChannel {
      override accepts(): boolean {
        throw new Error('accepts bug');
      }
    }
    const { ctx } = setUp('offload', [new Broken('broken', false)], false);
    const dest = new Uint8Array(64);
    const tx = bindOps(ctx).asyncMemset(dest, 9, 0, 64);
    assert.equal(tx.status, DmaStatus.Error);
    assert.ok(tx.error instanceof OperationError);
    assert.match(tx.error.message, /policy threw: Error: accepts bug/);
    assert.deepEqual(dest, new Uint8Array(64), 'nothing written');
  });
});
