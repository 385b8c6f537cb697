/**
 * Chains on one engine: a step whose parent runs on the same channel is queued
 * behind it at once (Channel.prepareAfter), so a whole chain reaches the worker
 * with one doorbell; the engine runs it only if the parent completed, and the
 * core re-runs it once the parent is final when it did not.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { allocBlock, createClient, DependencyFailedError, fdTarget, freeBlock, IoError, TxFlags, type ClientOptions } from '../../src/index.js';
import { modelPQ, randomBlock } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'asynctx-chain-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LEN = 16384;

/** A file of 4 data chunks; a chain reads them, computes P and Q, and writes both after them. */
async function stripeChain(options: ClientOptions, name: string) {
  const path = join(dir, name);
  const data = [0, 1, 2, 3].map((i) => randomBlock(LEN, 10 + i));
  writeFileSync(path, Buffer.concat([...data.map((d) => Buffer.from(d)), Buffer.alloc(2 * LEN)]));
  const fd = openSync(path, 'r+');
  const target = fdTarget(fd, name);
  const client = createClient(options);
  const blocks = [0, 1, 2, 3, 4, 5].map(() => allocBlock(LEN));
  try {
    // Let the start-up round-trip measurement (six doorbells) finish before counting doorbells.
    const doorbells = () => client.stats().channels['worker/0']?.doorbells ?? 0;
    for (let i = 0; i < 200 && doorbells() < 6; i++) await new Promise((r) => setTimeout(r, 5));
    const before = client.stats().channels['worker/0']?.doorbells ?? 0;
    const t = [target, target, target, target];
    let calls = 0;
    const count = { callback: () => calls++ };
    const read = client.asyncIoRead(blocks.slice(0, 4), t, [0, LEN, 2 * LEN, 3 * LEN], 0, LEN, count);
    const pq = client.asyncGenSyndrome(blocks, 0, LEN, { depend: read, ...count });
    const write = client.asyncIoWrite(blocks.slice(4), [target, target], [4 * LEN, 5 * LEN], 0, LEN, { depend: pq, ...count });
    await client.waitForAsyncTx(write);
    await new Promise((r) => setImmediate(r));
    const want = modelPQ(data, LEN);
    const file = readFileSync(path);
    assert.deepEqual(file.subarray(4 * LEN, 5 * LEN), Buffer.from(want.p));
    assert.deepEqual(file.subarray(5 * LEN), Buffer.from(want.q));
    assert.equal(calls, 3, 'every callback once');
    const stats = client.stats();
    return { stats, doorbells: (stats.channels['worker/0']?.doorbells ?? 0) - before, channels: [read.channel, pq.channel, write.channel] };
  } finally {
    blocks.forEach(freeBlock);
    await client.close();
    closeSync(fd);
  }
}

describe('chains on one engine', () => {
  it('read → P+Q → write reach the worker together: one doorbell, all on the worker', async () => {
    const { doorbells, channels } = await stripeChain({ workers: 1, policy: 'offload' }, 'one-doorbell.img');
    assert.deepEqual(channels, ['worker/0', 'worker/0', 'worker/0']);
    assert.equal(doorbells, 1);
  });

  it('a parent that fails on the engine: the chained step waits for its re-run, then runs', async () => {
    const { channels, stats } = await stripeChain({ workers: 1, policy: 'offload', faults: { rules: [{ action: 'fail', op: 'io_read' }] } }, 'parent-fails.img');
    assert.equal(stats.faults!['fault:worker']!.failed, 1);
    assert.equal(channels[0], 'host-io/0', 'the failed read re-ran on the main thread');
    assert.match(channels[1]!, /worker/, 'P+Q ran on the engine after the re-run read');
  });

  it('an engine killed under a chain: every step re-runs, in order, with the right bytes', async () => {
    const { stats } = await stripeChain({ workers: 1, policy: 'offload', faults: { rules: [{ action: 'crash', op: 'pq' }] } }, 'crash.img');
    assert.equal(stats.faults!['fault:worker']!.crashed, 1);
  });

  it('delays and failures on every step keep the chain correct', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      await stripeChain({ workers: 2, policy: 'offload', faults: { seed, fail: 0.3, delay: 0.3, delayMs: [0, 2] } }, `random-${seed}.img`);
    }
  });

  it('a parent that fails for good fails the chained steps behind it, unrun', async () => {
    const path = join(dir, 'short.img');
    writeFileSync(path, Buffer.alloc(LEN));
    const fd = openSync(path, 'r+');
    const client = createClient({ workers: 1, policy: 'offload' });
    const a = allocBlock(LEN);
    const b = allocBlock(LEN);
    b.fill(7);
    try {
      const read = client.asyncIoRead([a], [fdTarget(fd)], [LEN], 0, LEN);
      const x = client.asyncXor(b, [a, b], 0, LEN, { flags: TxFlags.XorDropDst, depend: read });
      const w = client.asyncIoWrite([b], [fdTarget(fd)], [0], 0, LEN, { depend: x });
      await assert.rejects(client.waitForAsyncTx(read), IoError);
      await assert.rejects(client.waitForAsyncTx(x), DependencyFailedError);
      await assert.rejects(client.waitForAsyncTx(w), DependencyFailedError);
      assert.ok(b.every((v) => v === 7), 'the xor never ran');
      assert.ok(readFileSync(path).every((v) => v === 0), 'the write never ran');
    } finally {
      freeBlock(a);
      freeBlock(b);
      await client.close();
      closeSync(fd);
    }
  });
});
