/** md's v1 bad-block log: entry format, merging, clearing, a full log, mdadm's listing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { badBlocksText, clearBadBlocks, decodeBadBlocks, encodeBadBlocks, mergeBadBlocks, overlapsBadBlock } from '../../src/raid/badblocks.js';
import { SuperblockError } from '../../src/raid/errors.js';

describe('bad-block log', () => {
  it('decodes (sector << 10 | length) entries up to the all-ones end', () => {
    const bytes = new Uint8Array(512).fill(0xff);
    const v = new DataView(bytes.buffer);
    v.setBigUint64(0, (4096n << 10n) | 8n, true);
    v.setBigUint64(8, (9000n << 10n) | 1n, true);
    assert.deepEqual(decodeBadBlocks(bytes, 0), [{ sector: 4096, length: 8 }, { sector: 9000, length: 1 }]);
    assert.deepEqual(decodeBadBlocks(bytes, 3), [{ sector: 32768, length: 64 }, { sector: 72000, length: 8 }]);
    v.setBigUint64(16, 5n << 10n, true);
    assert.throws(() => decodeBadBlocks(bytes, 0), SuperblockError);
  });
  it('encodes with long ranges split, rounds outward to log units, and reports a full log', () => {
    const enc = encodeBadBlocks([{ sector: 100, length: 2000 }], 0, 512)!;
    assert.deepEqual(decodeBadBlocks(enc, 0), [{ sector: 100, length: 512 }, { sector: 612, length: 512 }, { sector: 1124, length: 512 }, { sector: 1636, length: 464 }]);
    assert.deepEqual(decodeBadBlocks(encodeBadBlocks([{ sector: 9, length: 2 }], 3, 512)!, 3), [{ sector: 8, length: 8 }]);
    const many = Array.from({ length: 65 }, (_, i) => ({ sector: i * 10, length: 1 }));
    assert.equal(encodeBadBlocks(many, 0, 512), null);
    assert.notEqual(encodeBadBlocks(many.slice(0, 64), 0, 512), null);
  });
  it('regression: never writes an entry over 512 sectors (md 6.1 loads a longer one out of order and reads listed sectors)', () => {
    // md's own log of 3100+400 and 3500+300 injected through sysfs (md-verify bb-rev-r5): 3100/512, 3612/188.
    const merged = mergeBadBlocks([{ sector: 3100, length: 512 }, { sector: 3612, length: 188 }]);
    assert.deepEqual(merged, [{ sector: 3100, length: 700 }]);
    const v = new DataView(encodeBadBlocks(merged, 0, 512)!.buffer);
    assert.deepEqual([v.getBigUint64(0, true), v.getBigUint64(8, true), v.getBigUint64(16, true)], [(3100n << 10n) | 512n, (3612n << 10n) | 188n, 0xffffffffffffffffn]);
    // Longer entries other writers left are still read whole.
    const bytes = new Uint8Array(512).fill(0xff);
    new DataView(bytes.buffer).setBigUint64(0, (3100n << 10n) | 1023n, true);
    assert.deepEqual(decodeBadBlocks(bytes, 0), [{ sector: 3100, length: 1023 }]);
  });
  it('merges, tests overlap, and clears ranges as md does after a good write', () => {
    assert.deepEqual(mergeBadBlocks([{ sector: 10, length: 5 }, { sector: 0, length: 10 }, { sector: 30, length: 1 }]), [{ sector: 0, length: 15 }, { sector: 30, length: 1 }]);
    const list = [{ sector: 100, length: 50 }];
    assert.equal(overlapsBadBlock(list, 149, 1), true);
    assert.equal(overlapsBadBlock(list, 150, 8), false);
    assert.deepEqual(clearBadBlocks(list, 110, 10), [{ sector: 100, length: 10 }, { sector: 120, length: 30 }]);
    assert.deepEqual(clearBadBlocks(list, 0, 1000), []);
  });
  it('lists like mdadm --examine-badblocks', () => {
    const sb = { bblogSize: 8, bblogOffset: -16, featureMap: 8 };
    assert.equal(badBlocksText('/dev/vdb', sb, [{ sector: 4096, length: 8 }]), `Bad-blocks on /dev/vdb:\n${' '.repeat(16)}4096 for 8 sectors\n`);
    assert.equal(badBlocksText('/dev/vdb', { ...sb, bblogSize: 0 }, []), 'No bad-blocks list configured on /dev/vdb\n');
    assert.equal(badBlocksText('/dev/vdb', { ...sb, featureMap: 0 }, []), 'Bad-blocks list is empty in /dev/vdb\n');
  });
});
