/**
 * P and Q against vectors computed by Intel ISA-L pq_gen (test/fixtures/pq-isal.json,
 * copied from shared/vectors): the bytes must match exactly, through the public API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { asyncGenSyndrome, asyncSyndromeVal } from '../../src/index.js';
import { scalarKernels } from '../../src/kernels/index.js';
import { fixture, hex, xorshift32 } from '../helpers.js';

interface Vector {
  ndata: number;
  len: number;
  seed: number;
  zeroSlots: number[];
  p_sha256: string;
  q_sha256: string;
  p_head: string;
  q_head: string;
}

const vectors = (JSON.parse(fixture('pq-isal.json').toString('utf8')) as { vectors: Vector[] }).vectors;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The data slots of a vector: one xorshift32 stream filling slot 0, then 1, …; zeroSlots become null. */
function dataOf(v: Vector): Array<Uint8Array | null> {
  const all = xorshift32(v.seed, v.ndata * v.len);
  return Array.from({ length: v.ndata }, (_, i) => (v.zeroSlots.includes(i) ? null : all.subarray(i * v.len, (i + 1) * v.len)));
}

describe('P and Q equal Intel ISA-L pq_gen', () => {
  it('has vectors', () => assert.ok(vectors.length >= 5));
  for (const v of vectors) {
    it(`${v.ndata} data × ${v.len} bytes, seed ${v.seed}${v.zeroSlots.length ? `, zero slots ${v.zeroSlots.join(',')}` : ''}`, () => {
      const data = dataOf(v);
      const p = new Uint8Array(v.len);
      const q = new Uint8Array(v.len);
      asyncGenSyndrome([...data, p, q], 0, v.len);
      assert.equal(hex(p.subarray(0, 16)), v.p_head);
      assert.equal(hex(q.subarray(0, 16)), v.q_head);
      assert.equal(sha(p), v.p_sha256);
      assert.equal(sha(q), v.q_sha256);
      assert.equal(asyncSyndromeVal([...data, p, q], 0, v.len).result, 0);
      // The reference kernels agree too (the API may run a faster set).
      const p2 = new Uint8Array(v.len);
      const q2 = new Uint8Array(v.len);
      scalarKernels.genSyndrome(data, p2, q2);
      assert.equal(sha(p2), v.p_sha256);
      assert.equal(sha(q2), v.q_sha256);
    });
  }
});
