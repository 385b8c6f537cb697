/**
 * create --metadata 1.0 | 1.1 (| 1.2): the superblock where mdadm puts it (end, start, 4 KiB in),
 * mdadm's data offset, data size and bad-block log for that place (super1.c validate_geometry1 /
 * write_init_super1), and the array assembling and reading back from it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assemble, create, dirtyChunks, examineText, MemoryMember, readMemberBitmap, readSuperblock, RaidUsageError, resync, scrub, superOffsetFor,
} from '../../src/raid/index.js';
import { bytes } from './helpers.js';

const MB8 = 8 << 20;

async function roundTrip(metadata: '1.0' | '1.1', sizes: number[], extra: { bitmap?: 'internal' | 'none'; bitmapChunkBytes?: number } = {}) {
  const members = sizes.map((b, i) => new MemoryMember(`v${i}`, b));
  const array = await create(members, { level: 5, chunkBytes: 64 * 1024, metadata, cleanDelayMs: 0, bitmapDaemonMs: 1e9, ...extra });
  await resync(array);
  const payload = bytes(array.size, 21);
  await array.write(payload, 0);
  await array.stop();
  const { array: back } = await assemble([...members].reverse());
  const got = new Uint8Array(back.size);
  await back.read(got, 0);
  assert.ok(Buffer.from(got).equals(Buffer.from(payload)), 'bytes read back');
  assert.equal((await scrub(back, 'check')).mismatches, 0);
  await back.stop();
  return members;
}

describe('create --metadata', () => {
  it("1.0: superblock at the end, data from sector 0, the bad-block log just before the superblock (mdadm's numbers)", async () => {
    const members = await roundTrip('1.0', [MB8, MB8, MB8]);
    const sb = await readSuperblock(members[1]!);
    assert.equal(sb.minorVersion, 0);
    assert.equal(sb.superOffset, 16368); // (16384 - 16) & ~7
    assert.equal(sb.dataOffset, 0);
    // validate_geometry1: 16384 rounded to 4K, less 16 + 8 + choose_bm_space (8): 16352 sectors, 8128 KiB in whole 64K chunks.
    assert.equal(sb.size, 16256);
    assert.equal(sb.dataSize, 16368 - 16); // write_init_super1: sb_offset - (choose_bm_space(size) + 8)
    assert.equal(sb.bblogSize, 8);
    assert.equal(sb.bblogOffset, -8);
    assert.match(examineText('v1', sb, 16384), /Version : 1\.0\n/);
  });

  it('1.0 on members of different sizes: each superblock at its own end, the smallest decides the used size', async () => {
    const members = await roundTrip('1.0', [MB8, MB8 + (1 << 20), MB8 + 7 * 512]);
    const sbs = await Promise.all(members.map((m) => readSuperblock(m)));
    sbs.forEach((sb, i) => assert.equal(sb.superOffset, superOffsetFor(0, members[i]!.size / 512)));
    assert.ok(sbs.every((sb) => sb.size === 16256));
  });

  it('1.1: superblock at sector 0, the 1.2 data offset, the bad-block log after the bitmap space', async () => {
    const members = await roundTrip('1.1', [MB8, MB8, MB8, MB8]);
    const sb = await readSuperblock(members[0]!);
    assert.equal(sb.minorVersion, 1);
    assert.equal(sb.superOffset, 0);
    assert.equal(sb.dataOffset, 2048);
    assert.equal(sb.size, 14336);
    assert.equal(sb.dataSize, 16384 - 2048);
    assert.equal(sb.bblogOffset, 16);
    assert.equal(sb.bblogSize, 8);
  });

  it('1.1 keeps a write-intent bitmap 4 KiB after its superblock', async () => {
    const members = await roundTrip('1.1', [MB8, MB8, MB8], { bitmap: 'internal', bitmapChunkBytes: 64 * 1024 });
    const sb = await readSuperblock(members[2]!);
    assert.equal(sb.bitmapOffset, 8);
    const bm = await readMemberBitmap(members[2]!, sb);
    assert.equal(bm.super.chunkSize, 64 * 1024);
    assert.deepEqual(dirtyChunks(bm.bits, Math.ceil(sb.size / 128)), [], 'a clean stop left no dirty bit');
  });

  it('1.0 keeps a write-intent bitmap before its superblock, below the bad-block log, as mdadm places it', async () => {
    const members = await roundTrip('1.0', [MB8, MB8, MB8], { bitmap: 'internal', bitmapChunkBytes: 64 * 1024 });
    const sb = await readSuperblock(members[1]!);
    // add_internal_bitmap1: bits = size / chunk + 1, header and bits in whole 4 KiB, then the 8-sector log.
    const bits = Math.floor((sb.size * 512) / (64 * 1024)) + 1;
    const room = Math.ceil((256 + Math.ceil(bits / 8)) / 4096) * 8;
    assert.equal(sb.bitmapOffset, -room - 8);
    assert.equal(sb.bblogOffset, -8);
    assert.ok(sb.dataSize <= sb.superOffset + sb.bitmapOffset, 'the data ends before the bitmap');
    const bm = await readMemberBitmap(members[1]!, sb);
    assert.equal(bm.super.chunkSize, 64 * 1024);
    assert.deepEqual(dirtyChunks(bm.bits, Math.ceil(sb.size / 128)), [], 'a clean stop left no dirty bit');
  });

  it('what is not implemented for a version is refused before anything is written', async () => {
    const members = [0, 1, 2].map((i) => new MemoryMember(`r${i}`, MB8));
    await assert.rejects(create(members, { level: 5, metadata: '1.1', consistencyPolicy: 'ppl' }), (e: unknown) => e instanceof RaidUsageError && /PPL with metadata 1\.1/.test(e.message));
    await assert.rejects(create(members, { level: 5, metadata: '0.90' as '1.0' }), RaidUsageError);
    assert.ok(members.every((m) => m.data.every((b) => b === 0)));
  });
});
