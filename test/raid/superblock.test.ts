/** md v1 superblocks: checksum, round trip, and the kernel's refusals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSuperblock, encodeSuperblock, sbChecksum, SuperblockError, defaultDataOffset, defaultComponentSize } from '../../src/raid/index.js';
import { loadFixture } from './helpers.js';

const f = loadFixture('raid5-4disks-64k-left-symmetric');
const raw = () => f.disks[3]!.slice(4096, 8192);

describe('superblock', () => {
  it('decodes what Linux wrote (dev_number 4 in slot 3, roles 0 1 2 0xffff 3)', () => {
    const sb = decodeSuperblock(raw(), 2, f.disks[3]!.length / 512);
    assert.equal(sb.devNumber, 4);
    assert.deepEqual(sb.devRoles.slice(0, 5), [0, 1, 2, 0xffff, 3]);
    assert.equal(sb.events, 37);
    assert.equal(sb.dataOffset, 2048);
    assert.equal(sb.size, 4096);
    assert.equal(sb.resyncOffset, Infinity);
    assert.equal(sb.setName, 'asynctx:fixture5');
  });
  it('re-encodes byte for byte (checksum included)', () => {
    const r = raw();
    const sb = decodeSuperblock(r, 2, f.disks[3]!.length / 512);
    const out = encodeSuperblock(sb);
    assert.ok(Buffer.from(out).equals(Buffer.from(r.subarray(0, out.length))));
    assert.equal(sbChecksum(out, sb.maxDev), 0xd358e111);
  });
  it('refuses a flipped byte (checksum), a wrong place, foreign bytes and unknown padding', () => {
    const sectors = f.disks[3]!.length / 512;
    const r = raw();
    r[40] ^= 1;
    assert.throws(() => decodeSuperblock(r, 2, sectors), /checksum/);
    assert.throws(() => decodeSuperblock(raw(), 1, sectors), /super_offset/);
    assert.throws(() => decodeSuperblock(new Uint8Array(4096).fill(7), 2, sectors), (e: unknown) => e instanceof SuperblockError && /no md superblock/.test(e.message));
    const p = raw();
    p[230] = 1;
    const sb = decodeSuperblock(raw(), 2, sectors);
    new DataView(p.buffer).setUint32(216, sbChecksum(p, sb.maxDev), true);
    assert.throws(() => decodeSuperblock(p, 2, sectors), /padding/);
  });
  it("follows mdadm's default data offset and size", () => {
    assert.equal(defaultDataOffset(8192, 128), 2048); // the fixtures: 4 MiB members, 64K chunk
    assert.equal(defaultDataOffset(2 * 1024 * 1024 * 2, 1024), 6144); // 2 GiB, 512K chunk: ~0.1% headroom (2 MiB) + 12K + bitmap, rounded to 1 MiB
    assert.equal(defaultDataOffset(1000 * 1024 * 1024 * 2, 1024), 264192); // 1000 GiB: 128 MiB headroom + bitmap → 129 MiB
    assert.equal(defaultComponentSize([8192, 9000], 2048, 128), 6144);
  });
});
