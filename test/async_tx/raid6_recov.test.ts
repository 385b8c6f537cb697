/**
 * The kernel's raid6test matrix through the consumer API: for every pair of
 * failed blocks — data+data, data+P, data+Q and P+Q — rebuild, then verify with
 * pq_val. Disk counts as raid6test.c chooses them: 4 and 5 (smallest arrays,
 * where one or both data disks fail), 11 and 12 (odd/even around a typical
 * width), 24, and 64 (wide: coefficients {02}^i for i up to 61).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  asyncGenSyndrome, asyncRaid6DatapRecov, asyncRaid6TwoDataRecov, asyncSyndromeVal, asyncXor,
  DmaStatus, InvalidArgumentError, OverlapError, SumCheck, TxFlags, waitForAsyncTx, type Tx,
} from '../../src/index.js';
import { randomBlock } from '../helpers.js';

const LEN = 4096;

/** Rebuilds blocks i < j of `disks` (data…, P, Q) the way raid6test's test_disks does. */
function recover(blocks: Uint8Array[], i: number, j: number): Tx {
  const disks = blocks.length;
  const P = disks - 2;
  const Q = disks - 1;
  if (j === Q) {
    if (i === P) return asyncGenSyndrome(blocks, 0, LEN);
    // data+Q: the data block from P by xor, then Q again — a two-step chain.
    const others = blocks.slice(0, P + 1).filter((_, k) => k !== i);
    const x = asyncXor(blocks[i], others, 0, LEN, { flags: TxFlags.XorZeroDst });
    return asyncGenSyndrome(blocks, 0, LEN, { depend: x });
  }
  if (j === P) return asyncRaid6DatapRecov(blocks, i, 0, LEN);
  return asyncRaid6TwoDataRecov(blocks, i, j, 0, LEN);
}

describe('RAID-6 recovery: every failure pair (raid6test matrix)', () => {
  for (const disks of [4, 5, 11, 12, 24, 64]) {
    it(`${disks} disks: all ${(disks * (disks - 1)) / 2} pairs recover and verify`, async () => {
      const original = Array.from({ length: disks }, (_, k) => (k < disks - 2 ? randomBlock(LEN, disks * 100 + k) : new Uint8Array(LEN)));
      asyncGenSyndrome(original, 0, LEN);
      const blocks = original.map((b) => b.slice());
      for (let i = 0; i < disks; i++) {
        for (let j = i + 1; j < disks; j++) {
          blocks[i].fill(0xdb);
          blocks[j].fill(0x6d);
          const rebuilt = recover(blocks, i, j);
          const check = asyncSyndromeVal(blocks, 0, LEN, { depend: rebuilt });
          await waitForAsyncTx(check);
          assert.equal(check.status, DmaStatus.Complete);
          assert.equal(check.result, 0, `pq_val after losing ${i} and ${j}`);
          assert.deepEqual(blocks[i], original[i], `block ${i} after losing ${i},${j}`);
          assert.deepEqual(blocks[j], original[j], `block ${j} after losing ${i},${j}`);
        }
      }
    });
  }

  it('recovery honours per-block offsets and null (zero) data slots', () => {
    const disks = 8;
    const offs = Array.from({ length: disks }, (_, k) => 3 + k * 5);
    const bufs = Array.from({ length: disks }, (_, k) => {
      const b = new Uint8Array(LEN + 64).fill(0xcc);
      if (k < disks - 2) b.set(randomBlock(LEN, k + 7), offs[k]);
      return b;
    });
    const blocks: Array<Uint8Array | null> = bufs.slice();
    blocks[2] = null;
    asyncGenSyndrome(blocks, offs, LEN);
    const want3 = bufs[3].slice();
    const want5 = bufs[5].slice();
    bufs[3].fill(0, offs[3], offs[3] + LEN);
    bufs[5].fill(1, offs[5], offs[5] + LEN);
    asyncRaid6TwoDataRecov(blocks, 5, 3, offs, LEN);
    assert.deepEqual(bufs[3], want3);
    assert.deepEqual(bufs[5], want5);
    const want4 = bufs[4].slice();
    const wantP = bufs[disks - 2].slice();
    bufs[4].fill(0, offs[4], offs[4] + LEN);
    bufs[disks - 2].fill(0, offs[disks - 2], offs[disks - 2] + LEN);
    asyncRaid6DatapRecov(blocks, 4, offs, LEN);
    assert.equal(asyncSyndromeVal(blocks, offs, LEN).result, 0);
    assert.deepEqual(bufs[4], want4);
    assert.deepEqual(bufs[disks - 2], wantP);
  });

  it('refuses what cannot be recovered, before writing anything', () => {
    const blocks = Array.from({ length: 6 }, (_, k) => new Uint8Array(64).fill(k));
    const before = blocks.map((b) => b.slice());
    assert.throws(() => asyncRaid6TwoDataRecov(blocks, 1, 1, 0, 64), InvalidArgumentError);
    assert.throws(() => asyncRaid6TwoDataRecov(blocks, 0, 4, 0, 64), /failb must be a data slot 0..3, got 4/);
    assert.throws(() => asyncRaid6TwoDataRecov(blocks, -1, 2, 0, 64), InvalidArgumentError);
    assert.throws(() => asyncRaid6TwoDataRecov([blocks[0], null, blocks[2], blocks[3], blocks[4], blocks[5]], 1, 2, 0, 64), /cannot be null/);
    assert.throws(() => asyncRaid6TwoDataRecov([...blocks.slice(0, 5), null], 0, 1, 0, 64), /P and Q must both be present/);
    assert.throws(() => asyncRaid6DatapRecov(blocks, 4, 0, 64), InvalidArgumentError);
    assert.throws(() => asyncRaid6DatapRecov([blocks[0], blocks[1], blocks[0].subarray(0), blocks[3], blocks[4], blocks[5]], 0, 0, 64), OverlapError);
    assert.throws(() => asyncRaid6TwoDataRecov(blocks, 0, 1, 1, 64), /reaches past its end/);
    assert.deepEqual(blocks, before);
    assert.equal(SumCheck.QResult, 2);
  });
});
