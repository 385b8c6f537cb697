/** asyncXor / asyncXorVal flags and semantics (DESIGN §3 semantics 3, 4). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { asyncXor, asyncXorVal, OverlapError, SumCheck, TxFlags } from '../../src/index.js';
import { embedded } from '../helpers.js';

const xorAll = (bs: Uint8Array[], n: number) => {
  const out = new Uint8Array(n);
  for (const b of bs) for (let i = 0; i < n; i++) out[i] ^= b[i];
  return out;
};

describe('asyncXor', () => {
  it('ZeroDst overwrites, implied dest accumulates, DropDst skips srcs[0], null skips', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.array(fc.uint8Array({ minLength: n, maxLength: n }), { minLength: 2, maxLength: 12 }), fc.uint8Array({ minLength: n, maxLength: n })),
        ),
        fc.nat(),
        ([n, srcs, d0], nulls) => {
          const withNulls: Array<Uint8Array | null> = srcs.map((s, i) => ((nulls >> i) & 1 && i > 0 ? null : s));
          const used = withNulls.filter((s): s is Uint8Array => s !== null);
          const zero = d0.slice();
          asyncXor(zero, withNulls, 0, n, { flags: TxFlags.XorZeroDst });
          assert.deepEqual(zero, xorAll(used, n));
          const implied = d0.slice();
          asyncXor(implied, withNulls, 0, n);
          assert.deepEqual(implied, xorAll([d0, ...used], n));
          const dropped = d0.slice();
          asyncXor(dropped, withNulls, 0, n, { flags: TxFlags.XorDropDst });
          assert.deepEqual(dropped, xorAll([d0, ...withNulls.slice(1).filter((s): s is Uint8Array => s !== null)], n));
        },
      ),
      { numRuns: 120 },
    );
  });

  it('dest as srcs[0] with DropDst (the raid5 idiom) and per-block offsets', () => {
    const n = 100;
    const d = embedded(new Uint8Array(n).fill(0x10), 3);
    const s1 = embedded(new Uint8Array(n).fill(0x01), 5);
    const s2 = embedded(new Uint8Array(n).fill(0x02), 1);
    asyncXor(d.buf, [d.buf, s1.buf, s2.buf], [3, 3, 5, 1], n, { flags: TxFlags.XorDropDst });
    assert.deepEqual(d.view, new Uint8Array(n).fill(0x13));
    assert.equal(d.buf[2], 0xa5);
    assert.equal(d.buf[3 + n], 0xa5);
  });

  it('allows a source that is exactly dest, refuses partial overlap', () => {
    const buf = new Uint8Array(64).fill(1);
    const other = new Uint8Array(64).fill(2);
    asyncXor(buf, [buf, other], 0, 32, { flags: TxFlags.XorZeroDst });
    assert.equal(buf[0], 3);
    assert.throws(() => asyncXor(buf, [buf.subarray(1), other], 0, 32), OverlapError);
  });

  it('all sources null: ZeroDst zeroes dest, implied dest keeps it', () => {
    const d = new Uint8Array(8).fill(4);
    asyncXor(d, [null, null], 0, 8);
    assert.deepEqual(d, new Uint8Array(8).fill(4));
    asyncXor(d, [null, null], 0, 8, { flags: TxFlags.XorZeroDst });
    assert.deepEqual(d, new Uint8Array(8));
  });
});

describe('asyncXorVal', () => {
  it('result is 0 when dest ⊕ srcs is zero, PResult otherwise, and dest is not modified', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 64, maxLength: 64 }), { minLength: 1, maxLength: 8 }), fc.nat(63), (srcs, flip) => {
        const dest = xorAll(srcs, 64);
        const copy = dest.slice();
        assert.equal(asyncXorVal(dest, srcs, 0, 64).result, 0);
        assert.deepEqual(dest, copy, 'xor_val must not destroy dest (the Linux software path does)');
        dest[flip] ^= 0x20;
        assert.equal(asyncXorVal(dest, srcs, 0, 64).result, SumCheck.PResult);
      }),
      { numRuns: 80 },
    );
  });

  it('DropDst skips srcs[0]', () => {
    const p = new Uint8Array(16).fill(3);
    assert.equal(asyncXorVal(p, [p, new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)], 0, 16, { flags: TxFlags.XorDropDst }).result, 0);
  });
});
