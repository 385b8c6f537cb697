/** asyncMemcpy (async_memcpy.c): the copy itself, its offsets and flags, on the synchronous path and on an engine. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asyncMemcpy, createClient, DmaStatus, OverlapError, TxFlags, waitForAsyncTx } from '../../src/index.js';
import { randomBlock } from '../helpers.js';

describe('asyncMemcpy', () => {
  it('copies len bytes from srcOffset to destOffset and nothing else; complete on return', () => {
    const src = randomBlock(100, 1);
    const dest = new Uint8Array(120).fill(0xaa);
    const tx = asyncMemcpy(dest, src, 7, 13, 50);
    assert.equal(tx.status, DmaStatus.Complete);
    assert.equal(tx.op, 'memcpy');
    assert.equal(tx.channel, 'software/0');
    assert.deepEqual(dest.subarray(7, 57), src.subarray(13, 63));
    assert.ok(dest.subarray(0, 7).every((v) => v === 0xaa) && dest.subarray(57).every((v) => v === 0xaa), 'bytes outside the range untouched');
    assert.deepEqual(src, randomBlock(100, 1), 'the source is read only');
  });

  it('copies between disjoint ranges of one buffer; refuses ranges that overlap by one byte', () => {
    const buf = randomBlock(64, 2);
    const want = buf.slice(0, 32);
    asyncMemcpy(buf, buf, 32, 0, 32);
    assert.deepEqual(buf.subarray(32), want);
    const before = buf.slice();
    assert.throws(() => asyncMemcpy(buf, buf, 31, 0, 32), OverlapError);
    assert.deepEqual(buf, before);
  });

  it('honours Ack and Fence; a Buffer works as either side', async () => {
    const dest = Buffer.alloc(16);
    const tx = asyncMemcpy(dest, Buffer.from('0123456789abcdef'), 0, 0, 16, { flags: TxFlags.Ack | TxFlags.Fence });
    assert.equal(tx.acked, true);
    assert.equal((await waitForAsyncTx(tx)).status, DmaStatus.Complete);
    assert.equal(dest.toString(), '0123456789abcdef');
  });

  it('on a worker engine: an arena block (in place) and a plain buffer (bounced) give the same bytes', async () => {
    const c = createClient({ workers: 1, policy: 'offload' });
    try {
      const len = 4099;
      const src = randomBlock(len + 5, 3);
      const inArena = c.allocBlock(len + 8).fill(0);
      const plain = new Uint8Array(len + 8);
      const a = c.asyncMemcpy(inArena, src, 8, 5, len - 8);
      const b = c.asyncMemcpy(plain, src, 8, 5, len - 8, { depend: a });
      await c.waitForAsyncTx(b);
      assert.equal(a.channel, 'worker/0');
      assert.equal(b.channel, 'worker/0');
      assert.deepEqual(inArena.subarray(8, len), src.subarray(5, len - 3));
      assert.deepEqual(plain, inArena, 'in place and bounced agree, zeros outside the range');
      c.freeBlock(inArena);
    } finally {
      await c.close();
    }
  });
});
