/** asyncMemset: one byte value over a range, on the synchronous path and on an engine. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asyncMemcpy, asyncMemset, createClient, DmaStatus, InvalidArgumentError, waitForAsyncTx } from '../../src/index.js';

describe('asyncMemset', () => {
  it('sets exactly [offset, offset + len) to the value; complete on return', () => {
    const dest = new Uint8Array(40).fill(7);
    const tx = asyncMemset(dest, 0xc3, 5, 30);
    assert.equal(tx.status, DmaStatus.Complete);
    assert.equal(tx.op, 'memset');
    assert.ok(dest.subarray(5, 35).every((v) => v === 0xc3));
    assert.ok(dest.subarray(0, 5).every((v) => v === 7) && dest.subarray(35).every((v) => v === 7));
  });

  it('takes every value 0..255 and nothing outside it', () => {
    const dest = new Uint8Array(1);
    for (let v = 0; v <= 255; v++) {
      asyncMemset(dest, v, 0, 1);
      assert.equal(dest[0], v);
    }
    for (const bad of [-1, 256, 1.5, Number.NaN]) assert.throws(() => asyncMemset(dest, bad, 0, 1), InvalidArgumentError);
    assert.equal(dest[0], 255, 'refused calls wrote nothing');
  });

  it('runs after its parent: a copy of the filled range sees the fill', async () => {
    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    const fill = asyncMemset(a, 9, 0, 64);
    const copy = asyncMemcpy(b, a, 0, 0, 64, { depend: fill });
    await waitForAsyncTx(copy);
    assert.ok(b.every((v) => v === 9));
  });

  it('on a worker engine: arena block and plain buffer alike, with an odd offset and length', async () => {
    const c = createClient({ workers: 1, policy: 'offload' });
    try {
      const inArena = c.allocBlock(5003).fill(1);
      const plain = new Uint8Array(5003).fill(1);
      const txs = [c.asyncMemset(inArena, 0x5a, 3, 4997), c.asyncMemset(plain, 0x5a, 3, 4997)];
      c.asyncTxIssuePendingAll();
      for (const tx of txs) {
        await c.waitForAsyncTx(tx);
        assert.equal(tx.channel, 'worker/0');
      }
      assert.deepEqual(plain, inArena);
      assert.deepEqual([...plain.subarray(0, 4)], [1, 1, 1, 0x5a]);
      assert.deepEqual([...plain.subarray(4999)], [0x5a, 1, 1, 1]);
      c.freeBlock(inArena);
    } finally {
      await c.close();
    }
  });
});
