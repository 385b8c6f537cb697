/** createClient: options, placement, stats, hot plug of devices, exclusive channels, close. */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import {
  asyncGenSyndrome, ClientClosedError, createClient, DependencyFailedError, DmaStatus, InvalidArgumentError,
  OperationError, TxFlags, type AsyncTxClient, type ClientOptions, type Tx,
} from '../../src/index.js';
import { arena, Capability } from '../../src/provider.js';
import { WorkerDevice } from '../../src/drivers/worker/index.js';

const fill = (len: number, v: number): Uint8Array => new Uint8Array(len).fill(v);

function workerDevice(client: AsyncTxClient, name = 'worker'): WorkerDevice {
  const d = client.registry.devices.find((x) => x.name === name);
  assert.ok(d instanceof WorkerDevice);
  return d;
}

describe('createClient options', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ workers: -1 }, /options\.workers/],
    [{ workers: 1.5 }, /options\.workers/],
    [{ workers: 'many' }, /options\.workers/],
    [{ workers: 1000 }, /options\.workers/],
    [{ policy: 'fastest' }, /options\.policy/],
    [{ offloadThreshold: -1 }, /options\.offloadThreshold/],
    [{ workers: 0, engine: 5 }, /options\.engine/],
    [{ workers: 1, engine: { capacity: 3 } }, /options\.engine: .*capacity/],
    [{ workers: 1, engine: { batch: 0 } }, /options\.engine: .*batch/],
    [{ wrokers: 2 }, /unknown option "wrokers"/],
    [null, /options must be an object/],
  ];
  for (const [options, message] of bad) {
    it(`refuses ${JSON.stringify(options)} with a typed error naming it`, () => {
      assert.throws(() => createClient(options as ClientOptions), (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message));
    });
  }

  it('workers: 0 is the software path only; every operation runs inline', async () => {
    const c = createClient({ workers: 0, policy: 'offload' });
    assert.deepEqual(c.devices().map((d) => d.name), ['software']);
    const dest = fill(1 << 17, 0);
    const tx = c.asyncXor(dest, [fill(1 << 17, 3), fill(1 << 17, 5)], 0, 1 << 17, { flags: TxFlags.XorZeroDst });
    assert.equal(tx.status, DmaStatus.Complete, 'complete on return');
    assert.equal(tx.channel, 'software/0');
    assert.equal(dest[12345], 6);
    await c.close();
  });

  it("workers: 'auto' starts one per spare core, at least one", async () => {
    const c = createClient({ workers: 'auto' });
    assert.equal(workerDevice(c).channels.length, Math.max(1, availableParallelism() - 1));
    await c.close();
  });

  it("offloadThreshold fixes 'auto' to a size rule (from 64 KiB of source bytes here); 'inline' never offloads", async () => {
    const auto = createClient({ workers: 1, offloadThreshold: 65536 });
    const inline = createClient({ workers: 1, policy: 'inline' });
    try {
      const bouncedBefore = auto.stats().mapping.bounced;
      const small = auto.asyncXor(fill(16384, 0), [fill(16384, 1), fill(16384, 2)], 0, 16384, { flags: TxFlags.XorZeroDst });
      const big = auto.asyncXor(fill(32768, 0), [fill(32768, 1), fill(32768, 2)], 0, 32768, { flags: TxFlags.XorZeroDst });
      assert.equal(small.channel, 'software/0', '32 KiB of sources');
      assert.equal(big.channel, 'worker/0', '64 KiB of sources');
      await auto.waitForAsyncTx(big);
      const never = inline.asyncMemcpy(fill(1 << 20, 0), fill(1 << 20, 1), 0, 0, 1 << 20);
      assert.equal(never.channel, 'software/0');
      const s = auto.stats();
      assert.equal(s.ops.xor.inline, 1);
      assert.equal(s.ops.xor.offloaded, 1);
      // The ring also ran the client's start-up round-trip probes; the scheduler counts only operations.
      assert.ok(s.channels['worker/0'].completed >= 1);
      assert.equal(s.scheduler.channels['worker/0'].ops, 1);
      assert.equal(s.mapping.bounced - bouncedBefore, 3, 'plain buffers were bounced');
    } finally {
      await Promise.all([auto.close(), inline.close()]);
    }
  });
});

describe('chains on a client', () => {
  it('a child submitted when its parent completes is issued at once: one doorbell for the whole chain', async () => {
    const c = createClient({ workers: 2, policy: 'offload' });
    try {
      const len = 4096;
      const a = c.allocBlock(len).fill(0x0f);
      const d1 = new Uint8Array(len);
      const d2 = c.allocBlock(len);
      const d3 = new Uint8Array(len);
      const reusedBefore = c.stats().mapping.reused;
      const done = new Promise<void>((resolve) => {
        let tx = c.asyncXor(d1, [a, fill(len, 0xf0)], 0, len, { flags: TxFlags.XorZeroDst });
        tx = c.asyncMemcpy(d2, d1, 0, 0, len, { depend: tx });
        c.asyncXor(d3, [d2, fill(len, 0x55)], 0, len, { flags: TxFlags.XorZeroDst, depend: tx, callback: () => resolve() });
      });
      c.asyncTxIssuePendingAll();
      await done;
      assert.ok(d3.every((v) => v === (0xff ^ 0x55)));
      assert.ok(c.stats().mapping.reused - reusedBefore >= 1, 'd1 was mapped once for the xor and the copy');
    } finally {
      await c.close();
    }
  });
});

describe('mapping fallback', () => {
  it('when the arena cannot hold the bounce copies, the step runs on the synchronous path instead', async () => {
    const c = createClient({ workers: 1, policy: 'offload' });
    const hog = c.allocBlock(arena().usage().largestFree - 2 * 1048576);
    try {
      const len = 4 * 1048576;
      const dest = new Uint8Array(len);
      const tx = c.asyncXor(dest, [fill(len, 0x11), fill(len, 0x22)], 0, len, { flags: TxFlags.XorZeroDst });
      assert.equal(tx.channel, 'software/0');
      assert.equal(tx.status, DmaStatus.Complete);
      assert.ok(dest.every((v) => v === 0x33));
      const small = c.asyncMemset(new Uint8Array(4096), 5, 0, 4096);
      assert.equal(small.channel, 'worker/0', 'a step that fits still goes to the engine');
      await c.waitForAsyncTx(small);
    } finally {
      c.freeBlock(hog);
      await c.close();
    }
  });
});

describe('hot plug', () => {
  it('unregistering the worker device with work queued: the work completes, later work runs inline', async () => {
    const c = createClient({ workers: 2, policy: 'offload' });
    const len = 65536;
    const txs: Tx[] = [];
    const dests: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      dests.push(new Uint8Array(len));
      txs.push(c.asyncMemset(dests[i], i, 0, len));
    }
    assert.ok(txs.every((t) => t.channel.startsWith('worker/') && t.status === DmaStatus.InProgress), 'queued, not issued');
    await c.registry.unregister(workerDevice(c));
    assert.ok(txs.every((t) => t.status === DmaStatus.Complete));
    assert.ok(dests.every((d, i) => d.every((v) => v === i)));
    assert.deepEqual(c.devices().map((d) => d.name), ['software']);
    const later = c.asyncMemset(new Uint8Array(len), 1, 0, len);
    assert.equal(later.channel, 'software/0');
    await c.close();
  });

  it('a device registered later is used; when it dies its work fails over and completes, and its chain runs after it', async () => {
    const c = createClient({ workers: 0, policy: 'offload' });
    const extra = new WorkerDevice({ channels: 1, name: 'extra' });
    c.registry.register(extra);
    const len = 4096;
    const t1 = c.asyncMemset(new Uint8Array(len), 7, 0, len);
    const t2 = c.asyncMemcpy(new Uint8Array(len), fill(len, 1), 0, 0, len, { depend: t1 });
    assert.equal(t1.channel, 'extra/0');
    await extra.close(true);
    assert.equal((await c.waitForAsyncTx(t1)).status, DmaStatus.Complete);
    assert.equal((await c.waitForAsyncTx(t2)).status, DmaStatus.Complete);
    assert.equal(t1.channel, 'software/0', 'the last resort: inline');
    assert.ok(c.stats().scheduler.channels['extra/0'].failovers >= 1);
    await c.registry.unregister(extra);
    await c.close();
  });

  it('requestChannel takes a worker channel for exclusive use; the client runs inline until it is released', async () => {
    const c = createClient({ workers: 1, policy: 'offload' });
    try {
      const chan = c.registry.requestChannel(Capability.Pq)!;
      assert.equal(chan.name, 'worker/0');
      assert.equal(c.devices().find((d) => d.name === 'worker')?.channels[0].exclusive, true);
      const len = 4096;
      assert.equal(c.asyncMemset(new Uint8Array(len), 1, 0, len).channel, 'software/0');
      // The holder drives the channel through the provider API.
      const dest = c.allocBlock(len);
      const status = await new Promise<number>((resolve) => {
        chan.submit(chan.prepare({ kind: 'memset', dest, value: 9 }, (d) => resolve(d.status))!);
        chan.issuePending();
      });
      assert.equal(status, DmaStatus.Complete);
      assert.ok(dest.every((v) => v === 9));
      c.registry.releaseChannel(chan);
      const back = c.asyncMemset(new Uint8Array(len), 1, 0, len);
      assert.equal(back.channel, 'worker/0');
      await c.waitForAsyncTx(back);
    } finally {
      await c.close();
    }
  });
});

describe('close', () => {
  it('lets work in flight complete (issuing it), then refuses every call with ClientClosedError', async () => {
    const c = createClient({ workers: 2, policy: 'offload' });
    const len = 1 << 16;
    const data = Array.from({ length: 6 }, (_, i) => fill(len, i * 17 + 1));
    const pq: Array<{ p: Uint8Array; q: Uint8Array; tx: Tx }> = [];
    for (let i = 0; i < 12; i++) {
      const p = new Uint8Array(len);
      const q = c.allocBlock(len);
      const tx = c.asyncGenSyndrome([...data, p, q], 0, len);
      // A dependent step too, still waiting on its parent when close() is called.
      pq.push({ p, q, tx: c.asyncSyndromeVal([...data, p, q], 0, len, { depend: tx }) });
    }
    c.asyncTxIssuePendingAll();
    let callbacks = 0;
    for (let i = 0; i < 8; i++) c.asyncMemset(new Uint8Array(len), 1, 0, len, { callback: () => callbacks++ });
    await c.close();
    const want = { p: new Uint8Array(len), q: new Uint8Array(len) };
    asyncGenSyndrome([...data, want.p, want.q], 0, len);
    for (const { p, q, tx } of pq) {
      assert.equal(tx.status, DmaStatus.Complete);
      assert.equal(tx.result, 0, 'P and Q check out');
      assert.deepEqual(p, want.p);
      assert.deepEqual(Uint8Array.from(q), want.q);
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(callbacks, 8);
    for (const [name, fn] of Object.entries(c)) {
      if (typeof fn !== 'function' || name === 'close') continue;
      assert.throws(() => (fn as () => unknown)(), ClientClosedError, `${name} after close`);
    }
    await c.close();
  });
});
