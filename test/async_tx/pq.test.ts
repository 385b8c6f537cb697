/** asyncGenSyndrome / asyncSyndromeVal flags and semantics (DESIGN §3 semantics 5, 6). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { asyncGenSyndrome, asyncSyndromeVal, SumCheck, TxFlags } from '../../src/index.js';
import { modelPQ } from '../helpers.js';

const dataArb = fc.integer({ min: 1, max: 200 }).chain((n) =>
  fc.tuple(fc.constant(n), fc.array(fc.option(fc.uint8Array({ minLength: n, maxLength: n }), { freq: 5 }), { minLength: 2, maxLength: 30 })),
);

describe('asyncGenSyndrome', () => {
  it('equals the definition, null slots keep their index', () => {
    fc.assert(
      fc.property(dataArb, ([n, data]) => {
        const p = new Uint8Array(n);
        const q = new Uint8Array(n);
        asyncGenSyndrome([...data, p, q], 0, n);
        const m = modelPQ(data, n);
        assert.deepEqual(p, m.p);
        assert.deepEqual(q, m.q);
      }),
      { numRuns: 100 },
    );
  });

  it('slot order matters for Q, not P', () => {
    const a = new Uint8Array(16).fill(1);
    const b = new Uint8Array(16).fill(2);
    const p1 = new Uint8Array(16), q1 = new Uint8Array(16), p2 = new Uint8Array(16), q2 = new Uint8Array(16);
    asyncGenSyndrome([a, b, p1, q1], 0, 16);
    asyncGenSyndrome([b, a, p2, q2], 0, 16);
    assert.deepEqual(p1, p2);
    assert.notDeepEqual(q1, q2);
  });

  it('P or Q may be null to skip it; the other is untouched', () => {
    fc.assert(
      fc.property(dataArb, ([n, data]) => {
        const m = modelPQ(data, n);
        const q = new Uint8Array(n);
        asyncGenSyndrome([...data, null, q], 0, n);
        assert.deepEqual(q, m.q);
        const p = new Uint8Array(n);
        asyncGenSyndrome([...data, p, null], 0, n);
        assert.deepEqual(p, m.p);
      }),
      { numRuns: 50 },
    );
  });

  it('PqXorDst accumulates the non-null slots into existing P and Q (read-modify-write)', () => {
    fc.assert(
      fc.property(dataArb, fc.nat(), ([n, data], pick) => {
        // Full syndrome of the old data, then update one slot by rmw: P/Q ^= syndrome of (old ⊕ new) in that slot.
        const full = data.map((d) => d ?? new Uint8Array(n));
        const slot = pick % full.length;
        const old = modelPQ(full, n);
        const p = old.p.slice();
        const q = old.q.slice();
        const delta = full[slot].map((x) => x ^ 0x5c);
        const only = full.map((_, i) => (i === slot ? delta : null));
        asyncGenSyndrome([...only, p, q], 0, n, { flags: TxFlags.PqXorDst });
        const updated = full.map((d, i) => (i === slot ? d.map((x, j) => x ^ delta[j]) : d));
        const want = modelPQ(updated, n);
        assert.deepEqual(p, want.p);
        assert.deepEqual(q, want.q);
      }),
      { numRuns: 80 },
    );
  });
});

describe('asyncSyndromeVal', () => {
  it('reports P and Q mismatches separately, leaves P and Q intact, skips a null one', () => {
    fc.assert(
      fc.property(dataArb, fc.nat(), ([n, data], at) => {
        const { p, q } = modelPQ(data, n);
        assert.equal(asyncSyndromeVal([...data, p, q], 0, n).result, 0);
        const i = at % n;
        q[i] ^= 1;
        const pq = [p.slice(), q.slice()];
        assert.equal(asyncSyndromeVal([...data, p, q], 0, n).result, SumCheck.QResult);
        assert.deepEqual([p, q], pq);
        assert.equal(asyncSyndromeVal([...data, p, null], 0, n).result, 0);
        p[i] ^= 1;
        assert.equal(asyncSyndromeVal([...data, p, q], 0, n).result, SumCheck.PResult | SumCheck.QResult);
        assert.equal(asyncSyndromeVal([...data, null, q], 0, n).result, SumCheck.QResult);
      }),
      { numRuns: 60 },
    );
  });
});
