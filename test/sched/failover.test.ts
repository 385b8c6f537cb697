/**
 * The scheduler's failover order, with scripted engines and no threads: a
 * step an engine fails runs again on the next best device not yet tried (the
 * least loaded), ending with the inline path; a timed-out step's engine is
 * stopped before the step re-runs; a step that reads its own output is
 * restored first; the callback runs once, with the final outcome.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { bindOps, type AsyncTxOps } from '../../src/async_tx/client.js';
import { TxContext } from '../../src/async_tx/context.js';
import { activeKernels, ALL_CAPABILITIES, Channel, DmaStatus, OperationError, runOp, type Device, type HwDescriptor } from '../../src/provider.js';
import { Scheduler } from '../../src/sched/scheduler.js';

type Script = 'ok' | 'fail' | 'hang';

/** A channel that runs its queue on issuePending as `script` says; every attempt is logged. */
class ScriptedChannel extends Channel {
  private queue: HwDescriptor[] = [];
  private hung: HwDescriptor[] = [];
  constructor(device: Device, private readonly script: Script, private readonly log: string[]) {
    super(device, 0);
  }
  accepts(): boolean {
    return true;
  }
  protected enqueue(d: HwDescriptor): void {
    this.log.push(this.name);
    this.queue.push(d);
  }
  issuePending(): void {
    for (const d of this.queue.splice(0)) {
      if (this.script === 'hang') this.hung.push(d);
      else if (this.script === 'ok') queueMicrotask(() => this.complete(d, DmaStatus.Complete, runOp(activeKernels(), d.op)));
      else {
        // Like an engine that died half way: it wrote some of the output first.
        if (d.op.kind === 'xor') d.op.dest.fill(0xee, 0, d.op.dest.length >> 1);
        queueMicrotask(() => this.complete(d, DmaStatus.Error, 0, new OperationError(`${this.name}: scripted failure`)));
      }
    }
  }
  kills = 0;
  override async kill(error: Error): Promise<void> {
    this.kills++;
    for (const d of [...this.queue.splice(0), ...this.hung.splice(0)]) this.complete(d, DmaStatus.Error, 0, error);
  }
}

function engine(name: string, script: Script, log: string[]): ScriptedChannel {
  const device: Device = { name, capabilities: ALL_CAPABILITIES, limits: { maxSources: 255, alignment: 1 }, channels: [], close: async () => {} };
  const chan = new ScriptedChannel(device, script, log);
  (device as { channels: readonly Channel[] }).channels = [chan];
  return chan;
}

/** A context placed by a scheduler over `chans` (in table order). */
function placed(chans: ScriptedChannel[], policy: 'offload' | 'auto' = 'offload', timeoutMs = 10_000) {
  const scheduler = new Scheduler(() => chans, { policy, timeoutMs });
  const ctx = new TxContext('failover-test', scheduler);
  schedulers.push(scheduler);
  return { ops: bindOps(ctx), scheduler, ctx };
}
const schedulers: Scheduler[] = [];
after(() => schedulers.forEach((s) => s.close()));

/** A memset of `len` bytes to 7 on `ops`, with the callback's arguments collected. */
function memset(ops: AsyncTxOps, len: number) {
  const dest = new Uint8Array(len);
  const calls: Array<Error | undefined> = [];
  const tx = ops.asyncMemset(dest, 7, 0, len, { callback: (e) => calls.push(e) });
  return { dest, calls, tx };
}
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('scheduler failover', () => {
  it('tries the engines in table order, skipping each that failed, until one succeeds', async () => {
    const log: string[] = [];
    const { ops, scheduler } = placed([engine('a', 'fail', log), engine('b', 'fail', log), engine('c', 'ok', log)]);
    const m = memset(ops, 64);
    await ops.waitForAsyncTx(m.tx);
    await turn();
    assert.deepEqual(log, ['a/0', 'b/0', 'c/0']);
    assert.equal(m.tx.channel, 'c/0');
    assert.ok(m.dest.every((v) => v === 7));
    assert.deepEqual(m.calls, [undefined], 'one callback, with the final outcome');
    const s = scheduler.stats();
    assert.equal(s.channels['a/0'].failovers, 1);
    assert.equal(s.channels['b/0'].failovers, 1);
    assert.equal(s.channels['c/0'].ops, 1);
    assert.equal(s.ops.memset.failovers, 2);
  });

  it('ends on the inline path when every engine failed', async () => {
    const log: string[] = [];
    const { ops } = placed([engine('a', 'fail', log), engine('b', 'fail', log)]);
    const m = memset(ops, 32);
    await ops.waitForAsyncTx(m.tx);
    assert.deepEqual(log, ['a/0', 'b/0']);
    assert.equal(m.tx.channel, 'software/0');
    assert.equal(m.tx.status, DmaStatus.Complete);
    assert.ok(m.dest.every((v) => v === 7));
  });

  it('goes next to the least-loaded untried engine, not the next in the table', async () => {
    const log: string[] = [];
    const busy = engine('b', 'hang', log);
    const { ops } = placed([busy, engine('a', 'fail', log), engine('c', 'ok', log)]);
    // All idle: table order puts this one on b, where it stays.
    const held = ops.asyncMemset(new Uint8Array(4096), 1, 0, 4096);
    // b has work queued now: this goes to a, which fails it; b is first in the table but busy.
    const m = memset(ops, 64);
    await ops.waitForAsyncTx(m.tx);
    assert.deepEqual(log, ['b/0', 'a/0', 'c/0']);
    assert.equal(m.tx.channel, 'c/0');
    await busy.kill(new OperationError('test over'));
    await ops.waitForAsyncTx(held);
    assert.equal(held.channel, 'c/0', 'the held step failed over too, to the engine that works');
  });

  it("restores a step that reads its own output before it runs again: no byte is applied twice", async () => {
    const log: string[] = [];
    const { ops } = placed([engine('a', 'fail', log), engine('b', 'ok', log)]);
    const dest = new Uint8Array(64).fill(0x0f);
    const src = new Uint8Array(64).fill(0xf0);
    const other = new Uint8Array(64).fill(0x01);
    const tx = ops.asyncXor(dest, [src, other], 0, 64); // implied destination: dest ^= src ^ other
    await ops.waitForAsyncTx(tx);
    assert.deepEqual(log, ['a/0', 'b/0']);
    assert.ok(dest.every((v) => v === (0x0f ^ 0xf0 ^ 0x01)));
  });

  it('a step past timeoutMs: its engine is stopped first, then the step runs elsewhere; the late result is dropped', async () => {
    const log: string[] = [];
    const stuck = engine('a', 'hang', log);
    const { ops, scheduler } = placed([stuck, engine('b', 'ok', log)], 'offload', 20);
    // A scripted engine holds no thread: keep the process up while the (unref'd) sweep runs.
    const alive = setInterval(() => {}, 1000);
    const m = memset(ops, 64);
    await ops.waitForAsyncTx(m.tx).finally(() => clearInterval(alive));
    await turn();
    assert.equal(stuck.kills, 1);
    assert.deepEqual(log, ['a/0', 'b/0']);
    assert.equal(m.tx.channel, 'b/0');
    assert.deepEqual(m.calls, [undefined]);
    assert.equal(scheduler.stats().channels['a/0'].timeouts, 1);
  });
});
