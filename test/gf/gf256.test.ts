import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  gfDiv, gfExp, gfInv, gfLog, gfMul, gfMulSlow, gfMulRow, gfNibbleTables, gfPow2,
  raid6DataPCoefficient, raid6TwoDataCoefficients,
} from '../../src/gf/index.js';
import { pow2Slow } from '../helpers.js';

describe('GF(2^8) mod 0x11d', () => {
  it('multiplication (gfMul and the rows the scalar kernels use) equals shift-and-add for every pair', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        assert.equal(gfMulRow(a)[b], gfMulSlow(a, b));
        assert.equal(gfMul(a, b), gfMulSlow(a, b));
      }
    }
    assert.equal(gfMulRow(0x153), gfMulRow(0x53), 'a constant is taken mod 256, its row made once');
  });

  it('known products from lib/raid6 (0x80·2 = 0x1d, 0x53·0xca = 0x8f under 0x11d)', () => {
    assert.equal(gfMul(0x80, 2), 0x1d);
    assert.equal(gfMul(2, 0x8e), 0x01);
    assert.equal(gfMulSlow(0x53, 0xca), gfMul(0xca, 0x53));
  });

  it('{02} generates the whole multiplicative group', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 255; i++) seen.add(gfExp[i]);
    assert.equal(seen.size, 255);
    assert.ok(!seen.has(0));
    for (let i = 0; i < 300; i++) assert.equal(gfPow2(i), pow2Slow(i % 255));
    assert.equal(gfPow2(-1), gfInv[2]);
  });

  it('log and exp are inverse; every non-zero element has an inverse', () => {
    for (let a = 1; a < 256; a++) {
      assert.equal(gfExp[gfLog[a]], a);
      assert.equal(gfMul(a, gfInv[a]), 1);
      assert.equal(gfDiv(a, a), 1);
    }
    assert.throws(() => gfDiv(1, 0), RangeError);
  });

  it('nibble tables reproduce c·x for all 256 constants and bytes', () => {
    for (let c = 0; c < 256; c++) {
      const t = gfNibbleTables(c);
      for (let x = 0; x < 256; x++) assert.equal(t[x & 15] ^ t[16 + (x >> 4)], gfMulSlow(c, x));
    }
  });

  it('recovery coefficients satisfy their defining equations', () => {
    for (const [a, b] of [[0, 1], [3, 17], [0, 252], [100, 101]]) {
      const { pcoef, qcoef } = raid6TwoDataCoefficients(a, b);
      assert.equal(gfMulSlow(pcoef, pow2Slow(b - a) ^ 1), 1);
      assert.equal(gfMulSlow(qcoef, pow2Slow(a) ^ pow2Slow(b)), 1);
    }
    for (let a = 0; a < 253; a++) assert.equal(gfMulSlow(raid6DataPCoefficient(a), pow2Slow(a)), 1);
  });
});
