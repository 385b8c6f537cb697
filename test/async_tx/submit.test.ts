/** Submit control: callbacks, chains, acknowledgement, waiting (DESIGN §3 semantics 1, 2, 9). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  asyncMemcpy, asyncMemset, asyncTriggerCallback, asyncTxAck, asyncTxIssuePendingAll, asyncXor, asyncXorVal,
  DependencyMisuseError, DmaStatus, SumCheck, TxFlags, waitForAsyncTx, type Tx,
} from '../../src/index.js';

const block = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('callbacks', () => {
  it('run exactly once, never inside the submitting call, with no argument on success', async () => {
    const calls: unknown[][] = [];
    let inCall = true;
    const tx = asyncMemset(block(32, 0), 7, 0, 32, { callback: (...args) => calls.push([inCall, ...args]) });
    inCall = false;
    assert.equal(tx.status, DmaStatus.Complete, 'synchronous path: complete on return');
    assert.equal(calls.length, 0, 'not called inside the submitting call');
    await waitForAsyncTx(tx);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [[false]]);
  });

  it('may submit new work, including a child of the descriptor that called back', async () => {
    const a = block(64, 1);
    const b = block(64, 0);
    const c = block(64, 0);
    const done = new Promise<Tx>((resolve) => {
      const first = asyncMemcpy(b, a, 0, 0, 64, {
        callback: () => {
          // The descriptor is complete; a new, independent chain starts from here.
          const t1 = asyncXor(c, [a, b], 0, 64, { flags: TxFlags.XorZeroDst });
          resolve(asyncXorVal(c, [block(64, 0), block(64, 0)], 0, 64, { depend: t1 }));
        },
      });
      assert.equal(first.status, DmaStatus.Complete);
    });
    const v = await done;
    assert.deepEqual(c, block(64, 0));
    assert.equal(v.result, 0);
  });

  it('the documented xor → copy → xor chain runs in order, each callback once', async () => {
    // Documentation/crypto/async-tx-api.rst, "run_xor_copy_xor", in TypeScript.
    const len = 4096;
    const xorSrcs = [block(len, 0x0f), block(len, 0xf0), block(len, 0x33)];
    const xorDest = block(len, 0);
    const copyDest = block(len, 0);
    const xorSrcs2 = [copyDest, block(len, 0x55)];
    const xorDest2 = block(len, 0);
    const order: string[] = [];
    let tx = asyncXor(xorDest, xorSrcs, 0, len, { flags: TxFlags.XorZeroDst, callback: () => order.push('xor') });
    tx = asyncMemcpy(copyDest, xorDest, 0, 0, len, { depend: tx, callback: () => order.push('copy') });
    tx = asyncXor(xorDest2, xorSrcs2, 0, len, { flags: TxFlags.XorZeroDst | TxFlags.Ack, depend: tx, callback: () => order.push('xor2') });
    asyncTxIssuePendingAll();
    await waitForAsyncTx(tx);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['xor', 'copy', 'xor2']);
    assert.deepEqual(xorDest2, block(len, 0x0f ^ 0xf0 ^ 0x33 ^ 0x55));
  });

  it('asyncTriggerCallback completes after its parent and calls back', async () => {
    let called = 0;
    const parent = asyncMemset(block(8, 0), 1, 0, 8);
    const t = asyncTriggerCallback({ depend: parent, callback: () => called++ });
    await waitForAsyncTx(t);
    await new Promise((r) => setImmediate(r));
    assert.equal(called, 1);
    assert.equal(parent.acked, true, 'depend acknowledges the parent');
    assert.equal(asyncTriggerCallback().status, DmaStatus.Complete);
  });
});

describe('dependencies and acknowledgement', () => {
  it('a parent takes one child', () => {
    const p = asyncMemset(block(8, 0), 1, 0, 8);
    asyncMemset(block(8, 0), 2, 0, 8, { depend: p });
    assert.throws(() => asyncMemset(block(8, 0), 3, 0, 8, { depend: p }), DependencyMisuseError);
    assert.throws(() => asyncMemset(block(8, 0), 3, 0, 8, { depend: p }), /already has a dependent/);
  });

  it('an acknowledged descriptor cannot be a parent (Ack flag or asyncTxAck)', () => {
    const acked = asyncMemset(block(8, 0), 1, 0, 8, { flags: TxFlags.Ack });
    assert.equal(acked.acked, true);
    assert.throws(() => asyncMemset(block(8, 0), 2, 0, 8, { depend: acked }), /was acknowledged/);
    const t = asyncMemset(block(8, 0), 1, 0, 8);
    asyncTxAck(t);
    asyncTxAck(t);
    const dest = block(8, 9);
    assert.throws(() => asyncMemset(dest, 2, 0, 8, { depend: t }), DependencyMisuseError);
    assert.deepEqual(dest, block(8, 9), 'nothing written by the refused call');
  });

  it('refuses a depend that is not a descriptor', () => {
    assert.throws(() => asyncMemset(block(8, 0), 1, 0, 8, { depend: {} as Tx }), /not a descriptor returned by asynctx/);
    assert.throws(() => asyncTxAck({} as Tx), /expected a descriptor/);
    return assert.rejects(waitForAsyncTx(42 as unknown as Tx), /expected a descriptor/);
  });

  it('descriptors carry cookies, channel and status', async () => {
    const a = asyncMemset(block(8, 0), 1, 0, 8);
    const b = asyncMemset(block(8, 0), 1, 0, 8);
    assert.equal(a.channel, 'software/0');
    assert.ok(a.cookie >= 1);
    assert.equal(b.cookie, a.cookie + 1);
    assert.equal(a.op, 'memset');
    assert.equal((await waitForAsyncTx(b)).status, DmaStatus.Complete);
  });

  it('xor_val reports through tx.result', () => {
    const t = asyncXorVal(block(16, 3), [block(16, 1), block(16, 2)], 0, 16);
    assert.equal(t.result, 0);
    const bad = asyncXorVal(block(16, 3), [block(16, 1), block(16, 1)], 0, 16);
    assert.equal(bad.result, SumCheck.PResult);
  });
});
