/**
 * The WebAssembly SIMD kernels against the scalar reference (and, for the
 * multiply, the textbook GF(2^8) definition): random lengths with odd tails,
 * odd offsets, 1..255 sources, null slots, P or Q skipped, every multiply
 * constant, every recovery pair of the raid6test disk counts — each on arena
 * blocks (in place), plain buffers (bounced through the private memory) and a
 * mix (bounced through the arena's scratch). Guard bytes around every view
 * catch writes past either end. The ops with variants (wasm_variants.ts) run
 * every test on every variant too, and an exhaustive pass over source counts
 * and odd lengths.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors.js';
import { gfMulSlow } from '../../src/gf/index.js';
import { scalarKernels as ref, WASM_VARIANTS, wasmKernels, wasmKernelVariants, type KernelOp, type KernelSet, type Slot } from '../../src/kernels/index.js';
import { allocBlock, freeBlock } from '../../src/mem/index.js';
import { randomBlock } from '../helpers.js';

const maybe = wasmKernels();
assert.ok(maybe !== null, 'Node 20 has WebAssembly SIMD: the wasm kernels must load');
const w: KernelSet = maybe;
const variants = wasmKernelVariants();
assert.equal(variants.length, WASM_VARIANTS.length, 'every variant of wasm_variants.ts is built');

/** The default wasm-simd set and every variant that differs in one of `ops`: the tests of those ops run on each. */
function setsFor(...ops: KernelOp[]): KernelSet[] {
  return [w, ...variants.filter((v) => v.variantOps?.some((op) => ops.includes(op)))];
}

/** Fewer random runs for a variant than for the default set (the exhaustive tests below cover every variant alike). */
const runs = (k: KernelSet, n: number): number => (k === w ? n : Math.ceil(n / 4));

type Where = 'arena' | 'plain' | 'mixed';
const GUARD = 0xa5;
const SLACK = 19;

/** Places blocks in the arena or in plain memory at odd offsets, with guard bytes; `done` checks and frees. */
class Placer {
  private readonly held: { box: Uint8Array; off: number; len: number; arena: boolean }[] = [];
  constructor(private readonly where: Where) {}

  put(bytes: Uint8Array, off: number): Uint8Array {
    const arena = this.where === 'arena' || (this.where === 'mixed' && this.held.length % 2 === 0);
    const size = off + bytes.length + SLACK;
    const box = arena ? allocBlock(size) : new Uint8Array(size);
    box.fill(GUARD);
    box.set(bytes, off);
    this.held.push({ box, off, len: bytes.length, arena });
    return box.subarray(off, off + bytes.length);
  }

  done(): void {
    for (const h of this.held) {
      for (let i = 0; i < h.off; i++) assert.equal(h.box[i], GUARD, 'write before a block');
      for (let i = h.off + h.len; i < h.box.length; i++) assert.equal(h.box[i], GUARD, 'write past a block');
      if (h.arena) freeBlock(h.box);
    }
    this.held.length = 0;
  }
}

const where = fc.constantFrom<Where>('arena', 'plain', 'mixed');
/** Mostly small lengths, some across the 1 KiB chunks and the 32 KiB bounce chunks. */
const len = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 300 }) },
  { weight: 3, arbitrary: fc.integer({ min: 300, max: 5000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 30000, max: 70000 }) },
);
const off = fc.integer({ min: 0, max: 70 });
const seed = fc.integer({ min: 1, max: 2 ** 30 });

/** `count` random data slots of n bytes; slots whose bit is set in nullMask are null. */
function dataOf(pl: Placer, n: number, count: number, s: number, o: number, nullMask = 0): Slot[] {
  return Array.from({ length: count }, (_, i) => ((nullMask >>> (i % 31)) & 1 ? null : pl.put(randomBlock(n, s + i), (o + 7 * i) % 71)));
}

const copy = (v: Uint8Array | null): Uint8Array | null => (v === null ? null : v.slice());

describe('wasm-simd kernels equal the scalar reference', () => {
  for (const w of setsFor('xor')) {
    it(`xor of 1..40 sources, dest separate or one of the sources [${w.name}]`, () => {
      fc.assert(
        fc.property(len, fc.integer({ min: 1, max: 40 }), seed, off, where, fc.boolean(), (n, count, s, o, wh, alias) => {
          const pl = new Placer(wh);
          const srcs = dataOf(pl, n, count, s, o) as Uint8Array[];
          const expect = new Uint8Array(n);
          ref.xor(expect, srcs);
          // xor_val first: with `alias` the xor below overwrites a source.
          const sum = pl.put(expect, o + 1);
          assert.equal(w.xorIsZero([...srcs, sum]), true);
          sum[s % n] ^= 1 << (s % 8);
          assert.equal(w.xorIsZero([...srcs, sum]), false);
          const dest = alias ? srcs[count - 1] : pl.put(randomBlock(n, s ^ 99), o);
          w.xor(dest, srcs);
          assert.deepEqual(dest, expect);
          pl.done();
        }),
        { numRuns: runs(w, 120) },
      );
    });
  }

  for (const w of setsFor('xor')) {
    it(`xor and xor_val of up to 255 sources [${w.name}]`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 2, max: 255 }), seed, where, (n, count, s, wh) => {
          const pl = new Placer(wh);
          const srcs = dataOf(pl, n, count, s, 3) as Uint8Array[];
          const expect = new Uint8Array(n);
          ref.xor(expect, srcs);
          const dest = pl.put(new Uint8Array(n), 5);
          w.xor(dest, srcs);
          assert.deepEqual(dest, expect);
          assert.equal(w.xorIsZero([...srcs, dest]), true);
          pl.done();
        }),
        { numRuns: runs(w, 15) },
      );
    });
  }

  it('xor of more sources than the pointer list holds falls back and agrees', () => {
    const srcs = Array.from({ length: 1100 }, (_, i) => randomBlock(70, i + 1));
    const expect = new Uint8Array(70);
    ref.xor(expect, srcs);
    const dest = new Uint8Array(70);
    w.xor(dest, srcs);
    assert.deepEqual(dest, expect);
  });

  for (const w of setsFor('genSyndrome', 'pqCheck')) {
    it(`gen_syndrome and pq_check with null slots, P or Q skipped, 1..40 slots [${w.name}]`, () => {
      const skip = fc.constantFrom('none', 'p', 'q');
      fc.assert(
        fc.property(len, fc.integer({ min: 1, max: 40 }), seed, off, where, fc.integer({ min: 0, max: 2 ** 31 - 1 }), skip, (n, count, s, o, wh, mask, sk) => {
          const pl = new Placer(wh);
          const data = dataOf(pl, n, count, s, o, mask & 0x2492492);
          const ep = new Uint8Array(n);
          const eq = new Uint8Array(n);
          ref.genSyndrome(data, ep, eq);
          const p = sk === 'p' ? null : pl.put(randomBlock(n, s + 1000), o + 1);
          const q = sk === 'q' ? null : pl.put(randomBlock(n, s + 2000), o + 2);
          w.genSyndrome(data, p, q);
          if (p !== null) assert.deepEqual(p, ep);
          if (q !== null) assert.deepEqual(q, eq);
          assert.equal(w.pqCheck(data, p, q), 0);
          const at = (s >>> 3) % n;
          if (p !== null) p[at] ^= 0x80;
          assert.equal(w.pqCheck(data, p, q), ref.pqCheck(data, p, q));
          if (q !== null) q[n - 1 - at] ^= 0x01;
          assert.equal(w.pqCheck(data, p, q), (p !== null ? 1 : 0) | (q !== null ? 2 : 0));
          pl.done();
        }),
        { numRuns: runs(w, 120) },
      );
    });
  }

  for (const w of setsFor('genSyndrome')) {
    it(`gen_syndrome of 253 data slots (255 disks, the most RAID-6 allows) [${w.name}]`, () => {
      for (const wh of ['arena', 'plain'] as const) {
        const pl = new Placer(wh);
        const n = 1024 + 64 + 5;
        const data = dataOf(pl, n, 253, 77, 1, 0x100100);
        const ep = new Uint8Array(n);
        const eq = new Uint8Array(n);
        ref.genSyndrome(data, ep, eq);
        const p = pl.put(new Uint8Array(n), 0);
        const q = pl.put(new Uint8Array(n), 0);
        w.genSyndrome(data, p, q);
        assert.deepEqual(p, ep);
        assert.deepEqual(q, eq);
        pl.done();
      }
    });
  }

  for (const w of setsFor('xorSyndrome')) {
    it(`xor_syndrome (read-modify-write over start..stop) [${w.name}]`, () => {
      fc.assert(
        fc.property(len, fc.integer({ min: 1, max: 30 }), seed, off, where, fc.nat(), fc.nat(), fc.boolean(), (n, count, s, o, wh, a, b, nullP) => {
          const start = a % count;
          const stop = start + (b % (count - start));
          const pl = new Placer(wh);
          const data = dataOf(pl, n, count, s, o, s & 0x444);
          const p0 = randomBlock(n, s + 5);
          const q0 = randomBlock(n, s + 6);
          const ep = p0.slice();
          const eq = q0.slice();
          ref.xorSyndrome(data, nullP ? null : ep, eq, start, stop);
          const p = nullP ? null : pl.put(p0, o);
          const q = pl.put(q0, o + 3);
          w.xorSyndrome(data, p, q, start, stop);
          if (p !== null) assert.deepEqual(p, ep);
          assert.deepEqual(q, eq);
          pl.done();
        }),
        { numRuns: runs(w, 100) },
      );
    });
  }

  it('mul_const and mul_acc for all 256 constants against the textbook multiply', () => {
    const n = 64 * 3 + 13;
    const src = randomBlock(n, 4242);
    src[0] = 0;
    src[1] = 0xff;
    for (const wh of ['arena', 'plain'] as const) {
      const pl = new Placer(wh);
      const s = pl.put(src, 1);
      const d = pl.put(new Uint8Array(n), 2);
      const acc = pl.put(randomBlock(n, 7), 3);
      for (let c = 0; c < 256; c++) {
        const before = acc.slice();
        w.mulConst(d, s, c);
        w.mulAcc(acc, s, c);
        for (let i = 0; i < n; i++) {
          const m = gfMulSlow(c, src[i]);
          if (d[i] !== m) assert.fail(`mulConst c=${c} byte ${i}: ${d[i]} != ${m}`);
          if (acc[i] !== (before[i] ^ m)) assert.fail(`mulAcc c=${c} byte ${i}`);
        }
      }
      pl.done();
    }
  });

  it('mul_const in place and mul_acc on random lengths and placements', () => {
    fc.assert(
      fc.property(len, fc.integer({ min: 0, max: 255 }), seed, off, where, (n, c, s, o, wh) => {
        const pl = new Placer(wh);
        const src = pl.put(randomBlock(n, s), o);
        const acc = pl.put(randomBlock(n, s + 1), o + 1);
        const eAcc = acc.slice();
        ref.mulAcc(eAcc, src, c);
        w.mulAcc(acc, src, c);
        assert.deepEqual(acc, eAcc);
        const eSrc = new Uint8Array(n);
        ref.mulConst(eSrc, src, c);
        w.mulConst(src, src, c);
        assert.deepEqual(src, eSrc);
        pl.done();
      }),
      { numRuns: 80 },
    );
  });

  it('recovery of random failures on random stripes (null slots kept as zero blocks)', () => {
    fc.assert(
      fc.property(len, fc.integer({ min: 2, max: 30 }), seed, off, where, fc.nat(), fc.nat(), (n, count, s, o, wh, x, y) => {
        const a = x % count;
        const b = (a + 1 + (y % (count - 1))) % count;
        const pl = new Placer(wh);
        const data = dataOf(pl, n, count, s, o, (s & 0x1010) & ~((1 << a) | (1 << b)));
        const p = pl.put(new Uint8Array(n), o);
        const q = pl.put(new Uint8Array(n), o + 1);
        ref.genSyndrome(data, p, q);
        const da = copy(data[a])!;
        const db = copy(data[b])!;
        data[a]!.fill(0x3c);
        data[b]!.fill(0xc3);
        w.recov2Data(data, p, q, a, b);
        assert.deepEqual(data[a], da);
        assert.deepEqual(data[b], db);
        const ep = p.slice();
        data[a]!.fill(0x11);
        p.fill(0x22);
        w.recovDataP(data, p, q, a);
        assert.deepEqual(data[a], da);
        assert.deepEqual(p, ep);
        pl.done();
      }),
      { numRuns: 100 },
    );
  });

  // raid6test.c's disk counts: 4 and 5 (smallest arrays), 11 and 12 (odd/even around a
  // typical width), 24 and 64 (wide). Every pair of failed data disks, and every data+P.
  for (const disks of [4, 5, 11, 12, 24, 64]) {
    it(`every failure pair recovers on ${disks} disks`, () => {
      const count = disks - 2;
      const n = disks <= 12 ? 2 * 1024 + 64 + 13 : 64 + 13;
      const wh: Where = disks === 12 ? 'plain' : disks === 11 ? 'mixed' : 'arena';
      const pl = new Placer(wh);
      const data = dataOf(pl, n, count, disks * 1000, 1);
      const orig = data.map((d) => d!.slice());
      const p = pl.put(new Uint8Array(n), 2);
      const q = pl.put(new Uint8Array(n), 3);
      w.genSyndrome(data, p, q);
      const ep = p.slice();
      for (let a = 0; a < count; a++) {
        for (let b = a + 1; b < count; b++) {
          data[a]!.fill(0xee);
          data[b]!.fill(0xdd);
          w.recov2Data(data, p, q, b, a);
          if (!ref.equal(data[a]!, orig[a]) || !ref.equal(data[b]!, orig[b])) assert.fail(`pair ${a},${b} of ${disks}`);
        }
        data[a]!.fill(0x77);
        p.fill(0x99);
        w.recovDataP(data, p, q, a);
        if (!ref.equal(data[a]!, orig[a]) || !ref.equal(p, ep)) assert.fail(`data ${a} + P of ${disks}`);
      }
      assert.equal(w.pqCheck(data, p, q), 0);
      pl.done();
    });
  }

  it('lengths up to 1 MiB with odd tails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 900 * 1024, max: 1024 * 1024 + 63 }), seed, where, (n, s, wh) => {
        const pl = new Placer(wh);
        const data = dataOf(pl, n, 4, s, 9);
        const p = pl.put(new Uint8Array(n), 1);
        const q = pl.put(new Uint8Array(n), 2);
        const ep = new Uint8Array(n);
        const eq = new Uint8Array(n);
        ref.genSyndrome(data, ep, eq);
        w.genSyndrome(data, p, q);
        assert.ok(ref.equal(p, ep) && ref.equal(q, eq), 'pq');
        const x = pl.put(new Uint8Array(n), 4);
        w.xor(x, data as Uint8Array[]);
        assert.ok(ref.equal(x, ep), 'xor = P');
        const keep = data[1]!.slice();
        data[1]!.fill(0);
        w.recov2Data(data, p, q, 1, 3);
        assert.ok(ref.equal(data[1]!, keep), 'recovered');
        assert.equal(w.pqCheck(data, p, q), 0);
        pl.done();
      }),
      { numRuns: 3 },
    );
  });

  it('isZero, equal, memcpy and memset', () => {
    fc.assert(
      fc.property(len, seed, off, where, fc.integer({ min: 0, max: 255 }), (n, s, o, wh, v) => {
        const pl = new Placer(wh);
        const a = pl.put(randomBlock(n, s), o);
        const b = pl.put(new Uint8Array(n), o + 1);
        assert.equal(w.isZero(b), true);
        w.memcpy(b, a);
        assert.deepEqual(b, a);
        assert.equal(w.equal(a, b), true);
        const at = s % n;
        b[at] ^= 0x10;
        assert.equal(w.equal(a, b), false);
        w.memset(b, v);
        assert.ok(b.every((x) => x === v));
        assert.equal(w.isZero(b), v === 0);
        w.memset(b, 0);
        b[at] = 1;
        assert.equal(w.isZero(b), false);
        pl.done();
      }),
      { numRuns: 100 },
    );
  });

  /**
   * Odd lengths around every step the variants take (16-byte lanes, 32/64/128-byte
   * steps, 1 KiB chunks), in place in the arena (the pointers the kernels see are the
   * callers') and bounced from plain buffers.
   */
  const ODD = [1, 15, 16, 17, 31, 33, 63, 65, 127, 129, 200, 1023, 1024 + 64 + 17, 2048 + 128 + 5];
  /** Bounced, the kernels see only the bounce area's pointers: fewer lengths there (the private module still runs each variant). */
  const lengthsFor = (wh: Where): number[] => (wh === 'arena' ? ODD : [17, 129, 1024 + 64 + 17]);
  const SOURCES = 20;

  for (const k of setsFor('xor')) {
    it(`xor of every source count 1..${SOURCES} at odd lengths, dest apart or each source in turn [${k.name}]`, () => {
      for (const wh of ['arena', 'plain'] as const) {
        for (const n of lengthsFor(wh)) {
          const pl = new Placer(wh);
          const all = dataOf(pl, n, SOURCES, n * 7 + 1, 3) as Uint8Array[];
          const orig = all.map((b) => b.slice());
          const dest = pl.put(new Uint8Array(n), 5);
          for (let count = 1; count <= SOURCES; count++) {
            const expect = new Uint8Array(n);
            ref.xor(expect, orig.slice(0, count));
            k.xor(dest, all.slice(0, count));
            if (!ref.equal(dest, expect)) assert.fail(`${wh} len ${n}, ${count} sources`);
            // dest = source `at` (dest ^= the others): past the first group of the grouped variant too.
            for (const at of new Set([0, count >> 1, count - 1])) {
              k.xor(all[at], all.slice(0, count));
              if (!ref.equal(all[at], expect)) assert.fail(`${wh} len ${n}, ${count} sources, dest = source ${at}`);
              all[at].set(orig[at]);
            }
          }
          pl.done();
        }
      }
    });
  }

  for (const k of setsFor('genSyndrome', 'xorSyndrome', 'pqCheck')) {
    it(`P+Q of every slot count 1..${SOURCES} at odd lengths, with and without null slots, every rmw range [${k.name}]`, () => {
      for (const wh of ['arena', 'plain'] as const) {
        for (const n of lengthsFor(wh)) {
          const pl = new Placer(wh);
          const p = pl.put(new Uint8Array(n), 1);
          const q = pl.put(new Uint8Array(n), 2);
          for (const nulls of [0, 0b10010]) {
            const all = dataOf(pl, n, SOURCES, n * 11 + nulls, 4, nulls);
            for (let count = 1; count <= SOURCES; count++) {
              const data = all.slice(0, count);
              const ep = new Uint8Array(n);
              const eq = new Uint8Array(n);
              ref.genSyndrome(data, ep, eq);
              k.genSyndrome(data, p, q);
              if (!ref.equal(p, ep) || !ref.equal(q, eq)) assert.fail(`${wh} len ${n}, ${count} slots, nulls ${nulls}`);
              assert.equal(k.pqCheck(data, p, q), 0);
              q[(count * 13) % n] ^= 0x40;
              assert.equal(k.pqCheck(data, p, q), 2, `${wh} len ${n}, ${count} slots: Q corruption found`);
              q[(count * 13) % n] ^= 0x40;
            }
            // Read-modify-write over every start..stop of 8 slots, each against the reference.
            const data = all.slice(0, 8);
            for (let start = 0; start < 8; start++) {
              for (let stop = start; stop < 8; stop++) {
                const ep = p.slice();
                const eq = q.slice();
                ref.xorSyndrome(data, ep, eq, start, stop);
                k.xorSyndrome(data, p, q, start, stop);
                if (!ref.equal(p, ep) || !ref.equal(q, eq)) assert.fail(`${wh} len ${n}, rmw ${start}..${stop}, nulls ${nulls}`);
              }
            }
          }
          pl.done();
        }
      }
    });
  }

  it('refuses blocks of different lengths before writing anything', () => {
    const dest = new Uint8Array(64);
    assert.throws(() => w.xor(dest, [new Uint8Array(64), new Uint8Array(63)]), InvalidArgumentError);
    const a = allocBlock(128);
    try {
      assert.throws(() => w.genSyndrome([a, a.subarray(0, 100)], a.subarray(0, 128), null), InvalidArgumentError);
    } finally {
      freeBlock(a);
    }
    assert.ok(dest.every((x) => x === 0));
  });
});
