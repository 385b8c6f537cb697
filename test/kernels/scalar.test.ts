/**
 * The scalar reference kernels against the textbook GF(2^8) definition,
 * byte by byte, on random sizes, offsets (odd ones included) and slot counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { gfMulSlow } from '../../src/gf/index.js';
import { scalarKernels as k } from '../../src/kernels/index.js';
import { embedded, modelPQ, pow2Slow } from '../helpers.js';

const len = fc.integer({ min: 1, max: 700 });
const off = fc.integer({ min: 0, max: 9 });

/** `count` random blocks of `n` bytes, each at its own offset in a larger buffer. */
const blocksArb = (count: fc.Arbitrary<number>) =>
  fc.tuple(len, count).chain(([n, c]) =>
    fc.tuple(fc.constant(n), fc.array(fc.tuple(fc.uint8Array({ minLength: n, maxLength: n }), off), { minLength: c, maxLength: c })),
  );

const viewsOf = (bs: Array<[Uint8Array, number]>) => bs.map(([b, o]) => embedded(b, o).view);

describe('scalar reference kernels', () => {
  it('xor of N sources, dest as one of the sources too', () => {
    fc.assert(
      fc.property(blocksArb(fc.integer({ min: 1, max: 20 })), off, ([n, bs], dOff) => {
        const srcs = viewsOf(bs);
        const expect = new Uint8Array(n);
        for (const s of srcs) for (let i = 0; i < n; i++) expect[i] ^= s[i];
        const { buf, view } = embedded(new Uint8Array(n), dOff);
        k.xor(view, srcs);
        assert.deepEqual(view, expect);
        assert.equal(buf[buf.length - 1], 0xa5, 'no write past the end');
        // In place: dest is srcs[0].
        const inPlace = srcs.map((s) => s.slice());
        k.xor(inPlace[0], inPlace);
        assert.deepEqual(inPlace[0], expect);
        assert.equal(k.xorIsZero([...srcs, expect]), true);
        if (n > 0) {
          expect[n - 1] ^= 1;
          assert.equal(k.xorIsZero([...srcs, expect]), false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gen_syndrome equals Σ {02}^i·D_i with null slots as zero blocks', () => {
    fc.assert(
      fc.property(blocksArb(fc.integer({ min: 2, max: 40 })), fc.integer({ min: 0, max: 2 ** 31 }), off, ([n, bs], nullMask, o) => {
        const data: Array<Uint8Array | null> = viewsOf(bs).map((v, i) => ((nullMask >>> (i % 31)) & 1 && i % 3 === 0 ? null : v));
        const model = modelPQ(data, n);
        const p = embedded(new Uint8Array(n), o).view;
        const q = embedded(new Uint8Array(n), o + 1).view;
        k.genSyndrome(data, p, q);
        assert.deepEqual(p, model.p);
        assert.deepEqual(q, model.q);
        assert.equal(k.pqCheck(data, p, q), 0);
        q[n >> 1] ^= 0x40;
        assert.equal(k.pqCheck(data, p, q), 2);
        p[0] ^= 1;
        assert.equal(k.pqCheck(data, p, q), 3);
        assert.equal(k.pqCheck(data, null, q), 2);
        // P or Q alone.
        const q2 = new Uint8Array(n);
        k.genSyndrome(data, null, q2);
        assert.deepEqual(q2, model.q);
      }),
      { numRuns: 120 },
    );
  });

  it('xor_syndrome over start..stop accumulates that range only', () => {
    fc.assert(
      fc.property(blocksArb(fc.integer({ min: 2, max: 30 })), fc.nat(), fc.nat(), ([n, bs], x, y) => {
        const data = viewsOf(bs);
        const start = x % data.length;
        const stop = start + (y % (data.length - start));
        const p = new Uint8Array(n).fill(0x11);
        const q = new Uint8Array(n).fill(0x22);
        k.xorSyndrome(data, p, q, start, stop);
        const partial = data.map((d, i) => (i >= start && i <= stop ? d : null));
        const model = modelPQ(partial, n);
        for (let i = 0; i < n; i++) {
          assert.equal(p[i], model.p[i] ^ 0x11);
          assert.equal(q[i], model.q[i] ^ 0x22);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('multiply by every constant, and multiply-accumulate', () => {
    const src = new Uint8Array(256).map((_, i) => i);
    for (let c = 0; c < 256; c++) {
      const dest = new Uint8Array(256);
      k.mulConst(dest, src, c);
      const acc = new Uint8Array(256).fill(0x5a);
      k.mulAcc(acc, src, c);
      for (let x = 0; x < 256; x++) {
        assert.equal(dest[x], gfMulSlow(c, x));
        assert.equal(acc[x], gfMulSlow(c, x) ^ 0x5a);
      }
    }
    const inPlace = src.slice();
    k.mulConst(inPlace, inPlace, 7);
    assert.equal(inPlace[3], gfMulSlow(7, 3));
  });

  it('2-data and data+P recovery rebuild what was lost', () => {
    fc.assert(
      fc.property(blocksArb(fc.integer({ min: 2, max: 24 })), fc.nat(), fc.nat(), ([n, bs], x, y) => {
        const data = viewsOf(bs);
        const a = x % data.length;
        const b = (a + 1 + (y % (data.length - 1))) % data.length;
        const { p, q } = modelPQ(data, n);
        const lost = data.map((d) => d.slice());
        lost[a].fill(0xee);
        lost[b].fill(0x77);
        k.recov2Data(lost, p, q, a, b);
        assert.deepEqual(lost, data);
        const lostP = data.map((d) => d.slice());
        lostP[a].fill(0);
        const p2 = new Uint8Array(n).fill(9);
        k.recovDataP(lostP, p2, q, a);
        assert.deepEqual(lostP, data);
        assert.deepEqual(p2, p);
      }),
      { numRuns: 120 },
    );
  });

  it('zero check, compare, memset and memcpy', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), off, (b, o) => {
        const v = embedded(b, o).view;
        assert.equal(k.isZero(v), b.every((x) => x === 0));
        assert.equal(k.equal(v, b), true);
        const c = new Uint8Array(b.length);
        k.memcpy(c, v);
        assert.deepEqual(c, b);
        c[c.length - 1] ^= 0x80;
        assert.equal(k.equal(c, b), false);
        k.memset(c, 0);
        assert.equal(k.isZero(c), true);
      }),
      { numRuns: 100 },
    );
    assert.equal(pow2Slow(8), 0x1d);
  });
});
