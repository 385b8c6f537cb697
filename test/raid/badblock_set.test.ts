/** A member's bad-block list in memory (md's badblocks_set/clear/is_badblock), against a per-sector model. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBadBlocks } from '../../src/raid/badblocks.js';
import { BadBlockSet } from '../../src/raid/badblock_set.js';

describe('BadBlockSet', () => {
  it('adds with outward rounding to log units, clears only whole units inside a good write', () => {
    const s = new BadBlockSet([], 3, 4096);
    assert.equal(s.add(9, 2), true);
    assert.deepEqual(s.entries, [{ sector: 8, length: 8 }]);
    assert.equal(s.clear(9, 6), false, 'a write that covers no whole unit clears nothing');
    assert.equal(s.has(8, 1), true);
    assert.equal(s.clear(8, 8), true);
    assert.equal(s.count, 0);
  });
  it('merges touching ranges, splits on clear, and answers overlaps clipped', () => {
    const s = new BadBlockSet([{ sector: 100, length: 10 }], 0, 4096);
    s.add(110, 5);
    assert.deepEqual(s.entries, [{ sector: 100, length: 15 }]);
    s.clear(104, 2);
    assert.deepEqual(s.entries, [{ sector: 100, length: 4 }, { sector: 106, length: 9 }]);
    assert.deepEqual(s.within(102, 10), [{ sector: 102, length: 2 }, { sector: 106, length: 6 }]);
    assert.equal(s.has(104, 2), false);
  });
  it('refuses what the log cannot hold, and everything when there is no log', () => {
    const s = new BadBlockSet([], 0, 512); // 64 entries
    for (let i = 0; i < 64; i++) assert.equal(s.add(i * 10, 1), true);
    assert.equal(s.add(5000, 1), false);
    assert.equal(s.count, 64, 'a refused add leaves the list as it was');
    assert.equal(s.add(0, 2), true, 'growing an entry needs no room');
    assert.equal(new BadBlockSet([], 0, 0).add(0, 1), false);
  });
  it('acknowledges only the version a log write carried', () => {
    const s = new BadBlockSet([], 0, 4096);
    s.add(10, 1);
    const log = s.pendingLog();
    assert.deepEqual(decodeBadBlocks(log.bytes!, 0), [{ sector: 10, length: 1 }]);
    s.add(20, 1); // lands while the log is being written
    s.written(log.version);
    assert.equal(s.unacked, true);
    s.written(s.pendingLog().version);
    assert.equal(s.unacked, false);
    assert.equal(s.changed, false);
    s.clear(0, 100);
    assert.deepEqual(s.pendingLog().bytes, null, 'an empty list writes no log (the feature bit voids it)');
    assert.equal(s.featureBit(), 0);
  });
  it('matches a per-sector model under random adds and clears (shift 0)', () => {
    const op = fc.record({ add: fc.boolean(), sector: fc.integer({ min: 0, max: 300 }), length: fc.integer({ min: 1, max: 40 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 0, max: 340 }), fc.integer({ min: 1, max: 30 }), (ops, qs, ql) => {
        const s = new BadBlockSet([], 0, 4096);
        const model = new Array<boolean>(400).fill(false);
        for (const o of ops) {
          if (o.add) s.add(o.sector, o.length);
          else s.clear(o.sector, o.length);
          for (let i = o.sector; i < o.sector + o.length; i++) model[i] = o.add;
        }
        for (let i = 0; i < 400; i++) assert.equal(s.has(i, 1), model[i], `sector ${i}`);
        assert.equal(s.has(qs, ql), model.slice(qs, qs + ql).some(Boolean));
        // Sorted, disjoint and not touching: md's invariant.
        s.entries.forEach((b, i) => i > 0 && assert.ok(b.sector > s.entries[i - 1]!.sector + s.entries[i - 1]!.length));
      }),
      { numRuns: 200 },
    );
  });
});
