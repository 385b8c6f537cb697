/** Reading a member's bitmap and bad-block log through its superblock, and detail's bitmap/policy lines. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assemble, BITMAP_MAGIC, bitmapExamineText, consistencyPolicy, decodeSuperblock, detailJson, detailText, encodeBadBlocks,
  encodeBitmapSuper, encodeSuperblock, Feature, MemoryMember, readMemberBadBlocks, readMemberBitmap, readSuperblock, SuperblockError,
  type Superblock,
} from '../../src/raid/index.js';
import { fixtureMembers, loadFixture } from './helpers.js';

const f = loadFixture('raid6-5disks-16k-right-asymmetric');

function patchSb(m: MemoryMember, patch: (sb: Superblock) => void): Superblock {
  const sb = decodeSuperblock(m.data.subarray(4096), 2, m.data.length / 512);
  patch(sb);
  m.data.set(encodeSuperblock(sb), 4096);
  return sb;
}

/** Gives a member an internal bitmap 8 sectors after its superblock, as mdadm's 1.2 layout does. */
function addBitmap(m: MemoryMember, dirty: number[]): Superblock {
  const sb = patchSb(m, (s) => { s.featureMap |= Feature.BitmapOffset; s.bitmapOffset = 8; });
  const bsb = { magic: BITMAP_MAGIC, version: 4, uuid: sb.setUuid, events: sb.events, eventsCleared: sb.events, syncSize: sb.size, state: 0, chunkSize: 4096, daemonSleep: 5, writeBehind: 0, sectorsReserved: 0, nodes: 0, clusterName: '' };
  const at = (sb.superOffset + 8) * 512;
  m.data.set(encodeBitmapSuper(bsb), at);
  for (const c of dirty) m.data[at + 256 + (c >> 3)]! |= 1 << (c & 7);
  return sb;
}

describe('member logs', () => {
  it('reads the bitmap at bitmap_offset from the superblock and prints it like mdadm -X', async () => {
    const m = fixtureMembers(f)[0]!;
    const sb = addBitmap(m, [0, 3]);
    const bm = await readMemberBitmap(m, await readSuperblock(m));
    assert.equal(bm.super.chunkSize, 4096);
    assert.equal(bm.bits.length, Math.ceil(Math.ceil(sb.size / 8) / 8));
    assert.equal(bm.bits[0], 0b1001);
    assert.match(bitmapExamineText(m.name, bm.super, bm.bits), /Bitmap : \d+ bits \(chunks\), 2 dirty/);
  });
  it('a member without an internal bitmap is a clear error', async () => {
    const m = fixtureMembers(f)[0]!;
    await assert.rejects(readMemberBitmap(m, await readSuperblock(m)), (e: unknown) => e instanceof SuperblockError && /no internal write-intent bitmap/.test((e as Error).message));
  });
  it('reads the bad-block log at bblog_offset', async () => {
    const m = fixtureMembers(f)[1]!;
    const sb0 = await readSuperblock(m);
    assert.deepEqual(await readMemberBadBlocks(m, sb0), []);
    if (sb0.bblogSize === 0) return;
    const list = [{ sector: 1024, length: 8 }];
    const sb = patchSb(m, (s) => { s.featureMap |= Feature.BadBlocks; });
    m.data.set(encodeBadBlocks(list, sb.bblogShift, sb.bblogSize * 512)!, (sb.superOffset + sb.bblogOffset) * 512);
    assert.deepEqual(await readMemberBadBlocks(m, await readSuperblock(m)), list);
  });
  it('detail says Intent Bitmap : Internal and Consistency Policy : bitmap where mdadm does', async () => {
    const ms = fixtureMembers(f);
    ms.forEach((m) => addBitmap(m, []));
    const { array } = await assemble(ms, { readonly: true });
    const text = detailText(array);
    assert.match(text, /Persistence : Superblock is persistent\n\n {5}Intent Bitmap : Internal\n\n {7}Update Time : /);
    assert.match(text, /\nConsistency Policy : bitmap\n/);
    assert.equal(detailJson(array).consistencyPolicy, 'bitmap');
    await array.stop();
    const { array: plain } = await assemble(fixtureMembers(f), { readonly: true });
    assert.doesNotMatch(detailText(plain), /Intent Bitmap/);
    assert.match(detailText(plain), /Consistency Policy : resync\n/);
    await plain.stop();
    assert.equal(consistencyPolicy(Feature.Ppl), 'ppl');
    assert.equal(consistencyPolicy(Feature.Journal), 'journal');
  });
});
