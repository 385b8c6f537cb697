/**
 * The worker channel's ring at the provider level: doorbell on issuePending
 * or the batch threshold only, backpressure when the ring is full,
 * completion moderation, in-order completion, cookies across wrap-around,
 * terminateAll, and a forced close with work outstanding.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  arena, DMA_MAX_COOKIE, DmaStatus, isComplete, OperationError, type HwDescriptor, type HwOp,
} from '../../src/provider.js';
import { WorkerDevice, type WorkerChannel } from '../../src/drivers/worker/index.js';

const blocks: Uint8Array[] = [];
function block(len: number, fill = 0): Uint8Array {
  const b = arena().allocBlock(len);
  b.fill(fill);
  blocks.push(b);
  return b;
}
after(() => {
  for (const b of blocks.splice(0)) arena().freeBlock(b);
});

/** Submits `op` on `chan`; the promise settles with the descriptor when the channel completes it. */
function submit(chan: WorkerChannel, op: HwOp, seen?: (d: HwDescriptor) => void): { desc: HwDescriptor; done: Promise<HwDescriptor> } {
  let resolve!: (d: HwDescriptor) => void;
  const done = new Promise<HwDescriptor>((r) => (resolve = r));
  const desc = chan.prepare(op, (d) => {
    seen?.(d);
    resolve(d);
  })!;
  assert.ok(desc, 'the channel prepares it');
  chan.submit(desc);
  return { desc, done };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('worker channel ring', () => {
  it('runs nothing until the doorbell: issuePending, or the batch threshold', async () => {
    const dev = new WorkerDevice({ channels: 1, batch: 4 });
    try {
      const chan = dev.channels[0];
      const dests = [block(64), block(64), block(64), block(64)];
      const first = dests.slice(0, 3).map((d, i) => submit(chan, { kind: 'memset', dest: d, value: i + 1 }));
      // Not published: the worker cannot see these slots, whatever it is doing.
      for (let i = 0; i < 5; i++) await tick();
      assert.equal(chan.stats.doorbells, 0);
      assert.ok(first.every((s) => s.desc.status === DmaStatus.InProgress));
      assert.deepEqual([...dests[0].subarray(0, 4)], [0, 0, 0, 0]);
      // The fourth reaches the threshold: the channel rings by itself.
      const fourth = submit(chan, { kind: 'memset', dest: dests[3], value: 4 });
      assert.equal(chan.stats.doorbells, 1);
      await Promise.all([...first, fourth].map((s) => s.done));
      dests.forEach((d, i) => assert.ok(d.every((v) => v === i + 1)));
      // Below the threshold again: issuePending rings.
      const fifth = submit(chan, { kind: 'memset', dest: dests[0], value: 9 });
      assert.equal(chan.stats.doorbells, 1);
      chan.issuePending();
      assert.equal(chan.stats.doorbells, 2);
      assert.equal((await fifth.done).status, DmaStatus.Complete);
    } finally {
      await dev.close();
    }
  });

  it('queues behind a full ring (counted), then completes everything in submission order', async () => {
    const dev = new WorkerDevice({ channels: 1, capacity: 4, batch: 4 });
    try {
      const chan = dev.channels[0];
      const src = block(4096, 0x5a);
      const order: number[] = [];
      const subs = Array.from({ length: 40 }, () => submit(chan, { kind: 'memcpy', dest: block(4096), src }, (d) => order.push(d.cookie)));
      chan.issuePending();
      const done = await Promise.all(subs.map((s) => s.done));
      assert.ok(chan.stats.ringFull >= 36, `ringFull ${chan.stats.ringFull}`);
      assert.deepEqual(order, done.map((d) => d.cookie), 'completion order');
      assert.deepEqual(order, Array.from({ length: 40 }, (_, i) => i + 1), 'is submission order');
      assert.ok(done.every((d) => d.status === DmaStatus.Complete));
      assert.ok(subs.every((s) => (s.desc.op as { dest: Uint8Array }).dest.every((v) => v === 0x5a)));
    } finally {
      await dev.close();
    }
  });

  for (const lowWater of [0, 1]) {
    it(`moderates completion notices: one per k completions, ${lowWater ? 'one at the low-water mark, ' : ''}one when the ring drains`, async () => {
      const dev = new WorkerDevice({ channels: 1, capacity: 128, batch: 128, moderation: 16, lowWater });
      try {
        const chan = dev.channels[0];
        const subs = Array.from({ length: 64 }, () => submit(chan, { kind: 'memset', dest: block(256), value: 1 }));
        chan.issuePending();
        await Promise.all(subs.map((s) => s.done));
        assert.ok(chan.stats.notices >= 1 && chan.stats.notices <= 64 / 16 + 1 + lowWater, `notices ${chan.stats.notices}`);
      } finally {
        await dev.close();
      }
    });
  }

  it('numbers cookies from 1 after the largest, and isComplete follows them across the wrap', async () => {
    const dev = new WorkerDevice({ channels: 1 });
    try {
      const chan = dev.channels[0];
      chan.lastUsed = chan.lastComplete = DMA_MAX_COOKIE - 2;
      const statusInside: Array<[number, number[]]> = [];
      const subs = Array.from({ length: 5 }, () =>
        submit(chan, { kind: 'memset', dest: block(64), value: 3 }, (d) => {
          // Inside the completion, lastComplete is this cookie: what is before it is done, what follows is not.
          statusInside.push([d.cookie, subs.map((s) => chan.status(s.desc.cookie))]);
        }),
      );
      const cookies = subs.map((s) => s.desc.cookie);
      assert.deepEqual(cookies, [DMA_MAX_COOKIE - 1, DMA_MAX_COOKIE, 1, 2, 3]);
      assert.ok(cookies.every((c) => chan.status(c) === DmaStatus.InProgress));
      assert.equal(chan.status(DMA_MAX_COOKIE - 2), DmaStatus.Complete, 'an older cookie');
      chan.issuePending();
      await Promise.all(subs.map((s) => s.done));
      const C = DmaStatus.Complete;
      const P = DmaStatus.InProgress;
      assert.deepEqual(statusInside, [
        [DMA_MAX_COOKIE - 1, [C, P, P, P, P]],
        [DMA_MAX_COOKIE, [C, C, P, P, P]],
        [1, [C, C, C, P, P]],
        [2, [C, C, C, C, P]],
        [3, [C, C, C, C, C]],
      ]);
      assert.equal(isComplete(DMA_MAX_COOKIE, chan.lastComplete, chan.lastUsed), DmaStatus.Complete);
    } finally {
      await dev.close();
    }
  });

  for (const moderation of [1, 3, 64]) {
    it(`no lost wake-up: bursts with the worker parking every time (spinUs 0, moderation ${moderation})`, { timeout: 20_000 }, async () => {
      const dev = new WorkerDevice({ channels: 1, spinUs: 0, moderation, capacity: 16, batch: 5 });
      try {
        const chan = dev.channels[0];
        const dest = block(64);
        let seed = 12345 + moderation;
        const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
        for (let round = 0; round < 300; round++) {
          // 1..24 descriptors: below the batch threshold, past it, past the ring's capacity.
          const subs = Array.from({ length: 1 + rand(24) }, () => submit(chan, { kind: 'memset', dest, value: round & 0xff }));
          chan.issuePending();
          if (rand(2) === 0) await tick();
          const done = await Promise.all(subs.map((x) => x.done));
          assert.ok(done.every((d) => d.status === DmaStatus.Complete));
        }
        assert.ok(chan.stats.wakeups > 0, 'the worker was parked and woken');
      } finally {
        await dev.close();
      }
    });
  }

  it('terminateAll fails what was not issued, and the channel goes on working', async () => {
    const dev = new WorkerDevice({ channels: 1 });
    try {
      const chan = dev.channels[0];
      const subs = Array.from({ length: 3 }, () => submit(chan, { kind: 'memset', dest: block(64), value: 1 }));
      chan.terminateAll(new OperationError('stop'));
      for (const d of await Promise.all(subs.map((s) => s.done))) {
        assert.equal(d.status, DmaStatus.Error);
        assert.equal(d.error?.message, 'stop');
      }
      assert.equal(chan.inFlight, 0);
      const next = submit(chan, { kind: 'memset', dest: block(64), value: 2 });
      chan.issuePending();
      assert.equal((await next.done).status, DmaStatus.Complete);
    } finally {
      await dev.close();
    }
  });

  it('kill ends the thread first, then fails what it had not finished with the given error', async () => {
    const dev = new WorkerDevice({ channels: 1 });
    const chan = dev.channels[0];
    const len = 4 << 20;
    const data = Array.from({ length: 8 }, (_, i) => block(len, i + 1));
    const p = block(len);
    const q = new Uint8Array(len); // bounced: its arena copy is freed when the step fails
    const running = submit(chan, { kind: 'pq', data, p, q, rmw: false });
    chan.issuePending();
    const queued = submit(chan, { kind: 'memset', dest: block(64), value: 1 });
    const killed = new OperationError('killed by the test');
    await chan.kill(killed);
    const after = Uint8Array.from(p);
    for (const d of [await running.done, await queued.done]) {
      assert.ok(d.status === DmaStatus.Complete || d.error === killed, `${d.op.kind}: complete, or failed with the kill's error`);
    }
    assert.equal((await queued.done).error, killed, 'never issued: cannot have completed');
    for (let i = 0; i < 5; i++) await tick();
    assert.deepEqual(p, after, 'nothing writes P once kill resolved');
    assert.ok(chan.failed !== null && !chan.accepts({ kind: 'interrupt' }));
    await dev.close();
  });

  it('a forced close fails outstanding work with a clear error, and never hangs', async () => {
    const dev = new WorkerDevice({ channels: 2 });
    const len = 1 << 20;
    const data = Array.from({ length: 8 }, (_, i) => block(len, i));
    // Issued work (may or may not finish first) and unissued work (cannot have run).
    const issued = dev.channels.map((c) => submit(c, { kind: 'pq', data, p: block(len), q: block(len), rmw: false }));
    for (const c of dev.channels) c.issuePending();
    const unissued = dev.channels.map((c) => submit(c, { kind: 'memset', dest: block(64), value: 1 }));
    await dev.close(true);
    for (const d of await Promise.all(issued.map((s) => s.done))) {
      assert.ok(d.status === DmaStatus.Complete || d.error instanceof OperationError);
    }
    for (const d of await Promise.all(unissued.map((s) => s.done))) {
      assert.equal(d.status, DmaStatus.Error);
      assert.ok(d.error instanceof OperationError);
      assert.match(d.error.message, /worker\/\d: the channel was closed with this descriptor outstanding/);
    }
    assert.ok(dev.channels.every((c) => c.failed !== null && !c.accepts({ kind: 'interrupt' })));
  });
});
