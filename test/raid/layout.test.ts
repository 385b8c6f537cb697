/** md layouts: hand-checked tables from md's documentation, and the rules every layout must keep. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Layout, parseLayout, validateGeometry, RaidUsageError } from '../../src/raid/index.js';

/** Row r as md draws it: 'P', 'Q' or the data chunk number on each member. */
function draw(l: Layout, rows: number): string[] {
  const out: string[] = [];
  for (let s = 0; s < rows; s++) {
    const r = l.row(s);
    const cells = new Array<string>(l.geometry.raidDisks).fill('?');
    cells[r.pd] = 'P';
    if (r.qd >= 0) cells[r.qd] = 'Q';
    r.dataDisks.forEach((d, k) => (cells[d] = String(s * l.dataDisks + k)));
    out.push(cells.join(' '));
  }
  return out;
}

const r5 = (layout: number) => new Layout({ level: 5, raidDisks: 4, layout, chunkSectors: 8 });

describe('RAID-5 layouts (4 members), as drawn in md(4) and raid5.c', () => {
  it('left-asymmetric', () => assert.deepEqual(draw(r5(0), 4), ['0 1 2 P', '3 4 P 5', '6 P 7 8', 'P 9 10 11']));
  it('right-asymmetric', () => assert.deepEqual(draw(r5(1), 4), ['P 0 1 2', '3 P 4 5', '6 7 P 8', '9 10 11 P']));
  it('left-symmetric', () => assert.deepEqual(draw(r5(2), 4), ['0 1 2 P', '4 5 P 3', '8 P 6 7', 'P 9 10 11']));
  it('right-symmetric', () => assert.deepEqual(draw(r5(3), 4), ['P 0 1 2', '5 P 3 4', '7 8 P 6', '9 10 11 P']));
  it('parity-first and parity-last', () => {
    assert.deepEqual(draw(r5(4), 2), ['P 0 1 2', 'P 3 4 5']);
    assert.deepEqual(draw(r5(5), 2), ['0 1 2 P', '3 4 5 P']);
  });
});

describe('RAID-6 layouts (5 members)', () => {
  const r6 = (layout: number) => new Layout({ level: 6, raidDisks: 5, layout, chunkSectors: 8 });
  it('left-symmetric rotates P left with Q after it', () => assert.deepEqual(draw(r6(2), 3), ['Q 0 1 2 P', '3 4 5 P Q', '7 8 P Q 6']));
  it('right-asymmetric keeps data in member order around P,Q', () => assert.deepEqual(draw(r6(1), 3), ['P Q 0 1 2', '3 P Q 4 5', '6 7 P Q 8']));
  it('left-symmetric-6 is RAID-5 left-symmetric plus Q on the last member', () => assert.deepEqual(draw(r6(18), 2), ['0 1 2 P Q', '4 5 P 3 Q']));
  it('Q slots start after Q (raid6_d0): right-asymmetric row 1 takes slots from member 3 on', () => {
    const row = new Layout({ level: 6, raidDisks: 5, layout: 1, chunkSectors: 8 }).row(1);
    // P on 1, Q on 2: slots walk 3, 4, 0 -> data chunks 4, 5, 3
    assert.deepEqual(row.slotOfDisk, [2, -1, -1, 0, 1]);
  });
});

describe('every layout', () => {
  const layouts: Array<[number, number]> = [0, 1, 2, 3, 4, 5].map((l) => [5, l] as [number, number]).concat([0, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20].map((l) => [6, l]));
  it('puts data, P and Q on distinct members; syndrome slots are distinct; mapSector inverts', () => {
    fc.assert(
      fc.property(fc.constantFrom(...layouts), fc.integer({ min: 4, max: 16 }), fc.integer({ min: 0, max: 5000 }), ([level, layout], n, stripe) => {
        const l = new Layout({ level, raidDisks: n, layout, chunkSectors: 16 });
        const r = l.row(stripe);
        const used = new Set([r.pd, ...(r.qd >= 0 ? [r.qd] : []), ...r.dataDisks]);
        assert.equal(used.size, n);
        if (level === 6) {
          const slots = r.slotOfDisk.filter((s) => s >= 0);
          assert.equal(new Set(slots).size, l.dataDisks);
          assert.ok(slots.every((s) => s < r.syndromeDisks));
        }
        const k = stripe % l.dataDisks;
        const sector = l.arraySector(stripe, k, 5);
        const m = l.mapSector(sector);
        assert.deepEqual([m.disk, m.memberSector, m.stripe, m.dataIndex], [r.dataDisks[k], stripe * 16 + 5, stripe, k]);
      }),
    );
  });
  it('names parse as mdadm spells them and bad geometry is refused', () => {
    assert.equal(parseLayout(6, 'right-asymmetric'), 1);
    assert.equal(parseLayout(5, 'ls'), 2);
    assert.equal(parseLayout(6, 'parity-first-6'), 20);
    assert.throws(() => parseLayout(5, 'left-symmetric-6'), RaidUsageError);
    assert.throws(() => validateGeometry({ level: 6, raidDisks: 3, layout: 2, chunkSectors: 8 }), /4 to/);
    assert.throws(() => validateGeometry({ level: 5, raidDisks: 4, layout: 2, chunkSectors: 12 }), /power of two/);
    assert.throws(() => validateGeometry({ level: 1, raidDisks: 4, layout: 2, chunkSectors: 8 }), /level/);
  });
});
