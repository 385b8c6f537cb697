/** Assembly refuses what md refuses, before writing a byte. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assemble,
  AssemblyError,
  create,
  Feature,
  MemoryMember,
  sbChecksum,
  SuperblockError,
  UnsupportedFeatureError,
} from '../../src/raid/index.js';
import { bytes, fixtureMembers, loadFixture, memoryArray } from './helpers.js';

const f = loadFixture('raid6-5disks-16k-right-asymmetric');

function snapshot(ms: MemoryMember[]): Buffer[] {
  return ms.map((m) => Buffer.from(m.data));
}
function unchanged(ms: MemoryMember[], before: Buffer[]): void {
  ms.forEach((m, i) => assert.ok(Buffer.from(m.data).equals(before[i]!), `${m.name} was modified`));
}

/** Sets feature bits in a member's 1.2 superblock and fixes its checksum. */
function setFeature(m: MemoryMember, bits: number): void {
  const sb = m.data.subarray(4096, 8192);
  const v = new DataView(sb.buffer, sb.byteOffset);
  v.setUint32(8, v.getUint32(8, true) | bits, true);
  v.setUint32(216, sbChecksum(sb, v.getUint32(220, true)), true);
}

describe('assembly refusals', () => {
  it('a corrupted superblock is refused with its reason, nothing written', async () => {
    const ms = fixtureMembers(f);
    ms[2]!.data[4096 + 100] ^= 0x40;
    const before = snapshot(ms);
    await assert.rejects(assemble(ms), (e: unknown) => e instanceof SuperblockError && /m2.*checksum/.test(e.message));
    unchanged(ms, before);
  });

  it('a member with no md superblock is refused', async () => {
    const ms = [...fixtureMembers(f).slice(0, 4), new MemoryMember('/dev/blank', 2 << 20)];
    await assert.rejects(assemble(ms), /blank: no md superblock/);
  });

  it('members of two arrays are refused', async () => {
    const { members: other } = await memoryArray(5, 2 << 20, { level: 6, chunkBytes: 16384 });
    const ms = [...fixtureMembers(f).slice(0, 4), other[4]!];
    const before = snapshot(ms);
    await assert.rejects(assemble(ms), (e: unknown) => e instanceof AssemblyError && /different arrays/.test(e.message));
    unchanged(ms, before);
  });

  it('a bitmap feature bit with no valid bitmap behind it is refused before anything is written', async () => {
    const ms = fixtureMembers(f);
    ms.forEach((m) => setFeature(m, Feature.BitmapOffset));
    const before = snapshot(ms);
    await assert.rejects(assemble(ms), (e: unknown) => e instanceof SuperblockError && /bitmap magic/.test(e.message));
    unchanged(ms, before);
  });

  it('unimplemented features are named and refused; --readonly still reads a bitmap array', async () => {
    for (const [bits, name] of [[Feature.Journal, 'journal'], [Feature.ReshapeActive, 'reshape']] as const) {
      const ms = fixtureMembers(f);
      ms.forEach((m) => setFeature(m, bits));
      const before = snapshot(ms);
      await assert.rejects(assemble(ms), (e: unknown) => e instanceof UnsupportedFeatureError && e.message.includes(name) && /nothing was written/.test(e.message));
      unchanged(ms, before);
    }
    const ms = fixtureMembers(f);
    ms.forEach((m) => setFeature(m, Feature.BitmapOffset));
    const { array } = await assemble(ms, { readonly: true });
    const got = new Uint8Array(f.payload.length);
    await array.read(got, 0);
    assert.ok(Buffer.from(got).equals(Buffer.from(f.payload)));
    await assert.rejects(assemble(fixtureMembers(f).map((m) => (setFeature(m, Feature.Journal), m)), { readonly: true }), UnsupportedFeatureError);
  });

  it('a PPL on a RAID-6 array is refused (md runs PPL on RAID-5 only), nothing written', async () => {
    const ms = fixtureMembers(f);
    ms.forEach((m) => setFeature(m, Feature.Ppl));
    const before = snapshot(ms);
    await assert.rejects(assemble(ms), (e: unknown) => e instanceof AssemblyError && /PPL on a RAID-6/.test(e.message) && /nothing was written/.test(e.message));
    unchanged(ms, before);
  });

  it('too many missing members are refused', async () => {
    await assert.rejects(assemble(fixtureMembers(f).slice(0, 2)), /too many members missing/);
  });

  it('the same member twice is refused', async () => {
    const ms = fixtureMembers(f);
    await assert.rejects(assemble([ms[0]!, ms[1]!, new MemoryMember('copy', ms[1]!.data.slice()), ms[3]!]), /same device number/);
  });

  it('a stale member (fewer events) is left out and the array runs degraded', async () => {
    const { array, members } = await memoryArray(4, 2 << 20, { level: 5, chunkBytes: 16384 });
    const stale = new MemoryMember('stale', members[1]!.data.slice());
    await array.write(bytes(100000, 1), 0);
    await array.stop();
    await array.stop();
    const { array: again, warnings } = await assemble([members[0]!, stale, members[2]!, members[3]!], { readonly: true });
    assert.ok(warnings.some((w) => /stale/.test(w)), warnings.join('; '));
    assert.equal(again.slots[1]!.state, 'missing');
    const got = new Uint8Array(100000);
    await again.read(got, 0);
    assert.ok(Buffer.from(got).equals(Buffer.from(bytes(100000, 1))));
  });

  it('create refuses members that already hold a superblock unless told to overwrite', async () => {
    const ms = fixtureMembers(f);
    const before = snapshot(ms);
    await assert.rejects(create(ms, { level: 6, chunkBytes: 16384 }), /already holds an md superblock/);
    unchanged(ms, before);
  });

  it('a dirty degraded array is refused unless forced (md will not start one either)', async () => {
    const { array, members } = await memoryArray(4, 2 << 20, { level: 5, chunkBytes: 16384, cleanDelayMs: 60000 });
    await array.write(bytes(5000, 3), 0); // dirty, and never marked clean: a crash
    await assert.rejects(assemble(members.slice(1)), /dirty .* degraded/);
    const { array: forced } = await assemble(members.slice(1), { force: true });
    assert.equal(forced.needsResync, true);
  });
});
