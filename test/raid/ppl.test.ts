/**
 * The partial parity log: md's on-disk layout field by field, the checksums,
 * the superblock's ppl union, finding the newest of several headers, what a
 * write logs, and recovery at assembly mending a torn stripe on a degraded
 * array.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble, create, encodeSuperblock, Feature, MemoryMember, pplPlacement, RaidUsageError, scrub, setConsistencyPolicy, SuperblockError } from '../../src/raid/index.js';
import {
  crc32c,
  decodePplHeader,
  encodePplHeader,
  findNewestHeader,
  PPL_HDR_MAX_ENTRIES,
  pplArea,
  pplSignature,
  pplUnion,
  validatePplArea,
} from '../../src/raid/ppl.js';
import { bytes } from './helpers.js';

const UUID = Uint8Array.from({ length: 16 }, (_, i) => i * 17);

/** The newest header of a member's log (area at sector 16, 2048 sectors) and where it sits. */
async function newest(m: MemoryMember, signature: number) {
  const { found } = await findNewestHeader(async (at) => m.data.slice((16 + at) * 512, (16 + at) * 512 + 4096), 2048, signature);
  assert.ok(found);
  return found;
}

function pplMembers(n: number, size = 8 << 20): MemoryMember[] {
  return Array.from({ length: n }, (_, i) => new MemoryMember(`ppl${i}`, size));
}

describe('PPL format', () => {
  it('crc32c: the Castagnoli check value, chained over pieces', () => {
    const s = new TextEncoder().encode('123456789');
    assert.equal(crc32c(s), 0xe3069283);
    assert.equal(crc32c(s.subarray(5), crc32c(s.subarray(0, 5))), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });

  it('lays the header out as md_p.h ppl_header does (field offsets, 0xff reserve, 148 entries)', () => {
    assert.equal(PPL_HDR_MAX_ENTRIES, 148);
    const e = { dataSector: 0x123456789, ppSize: 4096, dataSize: 8192, parityDisk: 3, checksum: 0xdeadbeef };
    const b = encodePplHeader({ signature: 0xa1b2c3d4, generation: 0x10000000a, entries: [e, { ...e, dataSector: 7 }] });
    const v = new DataView(b.buffer);
    assert.equal(b.length, 4096);
    assert.ok(b.subarray(0, 512).every((x) => x === 0xff));
    assert.equal(v.getUint32(512, true), 0xa1b2c3d4); // signature
    assert.equal(v.getUint32(516, true), 0); // padding
    assert.equal(v.getBigUint64(520, true), 0x10000000an); // generation
    assert.equal(v.getUint32(528, true), 2); // entries_count
    assert.equal(v.getBigUint64(536, true), 0x123456789n); // entries[0].data_sector
    assert.equal(v.getUint32(544, true), 4096); // pp_size
    assert.equal(v.getUint32(548, true), 8192); // data_size
    assert.equal(v.getUint32(552, true), 3); // parity_disk
    assert.equal(v.getUint32(556, true), 0xdeadbeef); // checksum
    assert.equal(v.getBigUint64(560, true), 7n); // entries[1]
    // The header checksum is crc32c of the block with its own field zero.
    const z = b.slice();
    new DataView(z.buffer).setUint32(532, 0, true);
    assert.equal(v.getUint32(532, true), crc32c(z));
    const { header, problem } = decodePplHeader(b, 0xa1b2c3d4);
    assert.equal(problem, null);
    assert.deepEqual(header, { signature: 0xa1b2c3d4, generation: 0x10000000a, entries: [e, { ...e, dataSector: 7 }] });
  });

  it('rejects a flipped byte, another array and an impossible entry count; refuses to encode too many', () => {
    const b = encodePplHeader({ signature: 5, generation: 1, entries: [] });
    assert.match(decodePplHeader(b, 6).problem!, /signature/);
    const flipped = b.slice();
    flipped[600] ^= 1;
    assert.match(decodePplHeader(flipped, 5).problem!, /checksum/);
    const many = b.slice();
    const v = new DataView(many.buffer);
    v.setUint32(528, 149, true);
    v.setUint32(532, 0, true);
    v.setUint32(532, crc32c(many), true);
    assert.match(decodePplHeader(many, 5).problem!, /149 entries/);
    const e = { dataSector: 0, ppSize: 0, dataSize: 0, parityDisk: 0, checksum: 0 };
    assert.throws(() => encodePplHeader({ signature: 5, generation: 1, entries: new Array(149).fill(e) }), SuperblockError);
  });

  it('signature is crc32c of the set uuid (mdadm write_init_ppl1, the kernel ppl_init_log)', () => {
    assert.equal(pplSignature(UUID), crc32c(UUID));
  });

  it('finds the newest header of a MULTIPLE_PPLS area: stops at a bad checksum or a lower generation', async () => {
    const area = new Uint8Array(2048 * 512);
    const put = (at: number, gen: number, ppSectors: number) => {
      const e = { dataSector: 0, ppSize: ppSectors * 512, dataSize: ppSectors * 512, parityDisk: 0, checksum: 0 };
      area.set(encodePplHeader({ signature: 9, generation: gen, entries: ppSectors ? [e] : [] }), at * 512);
      return at + 8 + ppSectors;
    };
    const second = put(0, 4, 16);
    const third = put(second, 5, 8);
    put(put(third, 6, 0), 2, 8); // after the third, an older lap: lower generation, not newer
    const read = async (s: number) => area.slice(s * 512, s * 512 + 4096);
    const { found } = await findNewestHeader(read, 2048, 9);
    assert.equal(found?.header.generation, 6);
    assert.equal(found?.at, third);
    area[third * 512 + 700] ^= 1; // a torn third header: the second is the newest
    assert.equal((await findNewestHeader(read, 2048, 9)).found?.header.generation, 5);
    assert.equal((await findNewestHeader(async () => new Uint8Array(4096), 2048, 9)).found, null);
  });
});

describe('PPL superblock and create', () => {
  it('create --consistency-policy ppl: MULTIPLE_PPLS, ppl at +8 for 2048 sectors (bytes 96..99), data and bad-block log after it', async () => {
    const members = pplMembers(4);
    const a = await create(members, { level: 5, chunkBytes: 64 * 1024, assumeClean: true, consistencyPolicy: 'ppl', cleanDelayMs: 0 });
    const sb = a.slots[0]!.device!.sb;
    assert.equal(sb.featureMap, Feature.MultiplePpls);
    assert.deepEqual(pplArea(sb), { offset: 8, size: 2048, sector: 16 });
    const raw = encodeSuperblock(sb);
    const v = new DataView(raw.buffer);
    assert.equal(v.getInt16(96, true), 8);
    assert.equal(v.getUint16(98, true), 2048);
    assert.equal(sb.bblogOffset, 8 + 2048);
    assert.ok(sb.dataOffset >= 16 + 2048 + 8);
    // An empty header (generation 0) opens every member's area.
    const { header } = decodePplHeader(members[1]!.data.subarray(16 * 512, 17 * 512 + 3584), pplSignature(sb.setUuid));
    assert.deepEqual(header, { signature: pplSignature(sb.setUuid), generation: 0, entries: [] });
    await a.stop();
    assert.equal(pplUnion(-2056, 2048) >>> 0, ((2048 << 16) | (-2056 & 0xffff)) >>> 0);
  });

  it('refuses PPL on RAID-6 (as mdadm does) and an area that overlaps the data', async () => {
    await assert.rejects(create(pplMembers(5), { level: 6, consistencyPolicy: 'ppl' }), (e: unknown) => e instanceof RaidUsageError && /only supported for RAID level 5/.test(e.message));
    const members = pplMembers(3);
    const a = await create(members, { level: 5, chunkBytes: 4096, assumeClean: true, consistencyPolicy: 'ppl', cleanDelayMs: 0 });
    const sb = { ...a.slots[0]!.device!.sb, bitmapOffset: pplUnion(8, 8000) };
    assert.throws(() => validatePplArea(sb, 16384), /overlaps the data/);
    assert.throws(() => validatePplArea({ ...sb, bitmapOffset: pplUnion(8, 8) }, 16384), /too small/);
    assert.throws(() => validatePplArea({ ...sb, featureMap: Feature.Ppl | Feature.MultiplePpls }, 16384), /both PPL/);
    await a.stop();
  });
});

describe('PPL consistency policy switch', () => {
  it('places the area as mdadm --grow does: up to the bad-block log, 1 MiB at most, refused without room or on RAID-6', async () => {
    const big = pplMembers(3, 64 << 20);
    const a = await create(big, { level: 5, chunkBytes: 64 * 1024, assumeClean: true, cleanDelayMs: 0 });
    // Below 8 GiB mdadm keeps 4 KiB for a bitmap, then the bad-block log: no room for a PPL.
    await assert.rejects(setConsistencyPolicy(a, 'ppl'), /not enough space/);
    const sb = a.table.master;
    assert.deepEqual(pplPlacement({ ...sb, bblogOffset: 0, dataOffset: 8192 }), { offset: 8, size: 2048 });
    // With 64 KiB before the bad-block log (a bigger member), one log write fits: MD_FEATURE_PPL, not MULTIPLE.
    for (const d of [sb, ...a.slots.map((s) => s.device!.sb)]) d.bblogOffset = 8 + 128;
    assert.deepEqual(pplPlacement(sb), { offset: 8, size: 128 });
    await setConsistencyPolicy(a, 'ppl');
    assert.ok(a.ppl);
    await a.write(bytes(70000, 9), 1000);
    await a.stop();
    const { array: b } = await assemble(big.slice(1), { cleanDelayMs: 0 });
    assert.equal(b.table.master.featureMap & (Feature.Ppl | Feature.MultiplePpls), Feature.Ppl);
    const got = new Uint8Array(70000);
    await b.read(got, 1000);
    assert.deepEqual(got, bytes(70000, 9));
    await b.stop();
    const six = await create(pplMembers(4, 4 << 20), { level: 6, chunkBytes: 4096, assumeClean: true, cleanDelayMs: 0 });
    await assert.rejects(setConsistencyPolicy(six, 'ppl'), /only supported for RAID level 5/);
    await six.stop();
  });
});

describe('PPL writes and recovery', () => {
  it('logs the partial parity of a partial-stripe write on its parity member, and an empty entry for a full stripe', async () => {
    const members = pplMembers(4);
    const a = await create(members, { level: 5, chunkBytes: 16384, assumeClean: true, consistencyPolicy: 'ppl', cleanDelayMs: 0 });
    const old = bytes(3 * 16384, 1);
    await a.write(old, 0);
    await a.write(bytes(1024, 2), 16384 + 512); // data index 1, sectors 1..3 of its chunk
    const sig = pplSignature(a.table.master.setUuid);
    const pd = a.layout.row(0).pd;
    const found = await newest(members[pd]!, sig);
    const last = found.header.entries.at(-1)!;
    assert.deepEqual({ ...last, checksum: 0 }, { dataSector: 32 + 1, ppSize: 1024, dataSize: 1024, parityDisk: pd, checksum: 0 });
    // Partial parity: the xor of the unmodified data chunks (0 and 2) over those sectors.
    const ppAt = (16 + found.at + 8) * 512;
    const pp = members[pd]!.data.subarray(ppAt, ppAt + 1024);
    const want = new Uint8Array(1024).map((_, i) => old[512 + i]! ^ old[2 * 16384 + 512 + i]!);
    assert.deepEqual(pp, want);
    assert.equal(last.checksum, crc32c(want));
    await a.write(bytes(3 * 16384, 3), 3 * 16384); // row 1, full stripe
    const pd1 = a.layout.row(1).pd;
    const h1 = (await newest(members[pd1]!, sig)).header;
    assert.deepEqual(h1.entries.at(-1), { dataSector: 96, ppSize: 0, dataSize: 3 * 16384, parityDisk: pd1, checksum: 0 });
    await a.stop();
  });

  it('recovery at assembly: a torn stripe on a dirty array rebuilds untouched chunks of a missing member; the logs are emptied', async () => {
    const members = pplMembers(4);
    const a = await create(members, { level: 5, chunkBytes: 16384, assumeClean: true, consistencyPolicy: 'ppl', cleanDelayMs: 0 });
    const old = bytes(3 * 16384, 4);
    await a.write(old, 0);
    const row = a.layout.row(0);
    const dOff = a.slots[0]!.device!.sb.dataOffset * 512;
    const pd = row.pd;
    const parityBefore = members[pd]!.data.slice(dOff, dOff + 16384);
    await a.write(bytes(4096, 5), 4096); // data index 0: the entry is logged, then data and parity written
    // The crash: the parity write never reached the disk, and the array is left dirty.
    members[pd]!.data.set(parityBefore, dOff);
    await a.stop();
    const dirtyMembers = members.map((m, slot) => {
      const sb = a.slots[slot]!.device!.sb;
      const image = m.data.slice();
      image.set(encodeSuperblock({ ...sb, resyncOffset: 0 }), sb.superOffset * 512);
      return new MemoryMember(m.name, image);
    });
    // Data index 2 (untouched by the write) is missing: without the log it would come back wrong.
    const lost = row.dataDisks[2]!;
    const { array: b, warnings } = await assemble(dirtyMembers.filter((_, i) => i !== lost), { cleanDelayMs: 0 });
    assert.ok(warnings.some((w) => /PPL recovery: 1 entries applied, 0 not usable/.test(w)), warnings.join('; '));
    assert.equal(b.dirty, false);
    const got = new Uint8Array(16384);
    await b.read(got, 2 * 16384);
    assert.deepEqual(got, old.subarray(2 * 16384));
    const h = decodePplHeader(dirtyMembers[pd]!.data.subarray(16 * 512, 24 * 512), pplSignature(b.table.master.setUuid)).header!;
    assert.deepEqual(h.entries, []);
    await b.stop();
  });

  it('a partial write taller than one log write carries is logged in bands (64 KiB area: 60 KiB of partial parity each)', async () => {
    const members = pplMembers(3, 16 << 20);
    const a = await create(members, { level: 5, chunkBytes: 128 * 1024, assumeClean: true, cleanDelayMs: 0 });
    for (const d of [a.table.master, ...a.slots.map((s) => s.device!.sb)]) d.bblogOffset = 8 + 128;
    await setConsistencyPolicy(a, 'ppl');
    const data = bytes(100 * 1024, 12);
    await a.write(data, 4096);
    const pd = a.layout.row(0).pd;
    const { header } = decodePplHeader(members[pd]!.data.subarray(16 * 512, 24 * 512), pplSignature(a.table.master.setUuid));
    // The second band: from 4 KiB + 60 KiB to the end of the write, logged after the first was on disk.
    assert.deepEqual(header!.entries.map((e) => [e.dataSector, e.ppSize]), [[8 + 120, 100 * 1024 - 60 * 1024]]);
    assert.equal(header!.generation, 2);
    assert.equal((await scrub(a, 'check')).mismatches, 0);
    const got = new Uint8Array(data.length);
    await a.read(got, 4096);
    assert.deepEqual(got, data);
    await a.stop();
  });

  it('full-stripe headers pipeline: the next is written while earlier stripes still write, and repeats their entries; partial parity waits', async () => {
    // Data writes to the members are held until released, so the log's order shows.
    let hold: Promise<void> | null = null;
    let release = () => {};
    let held = 0;
    class Gated extends MemoryMember {
      dataFrom = Infinity;
      override async write(buf: Uint8Array, position: number): Promise<void> {
        if (hold && position >= this.dataFrom) {
          held++;
          await hold;
        }
        return super.write(buf, position);
      }
    }
    const members = Array.from({ length: 4 }, (_, i) => new Gated(`g${i}`, 8 << 20));
    const a = await create(members, { level: 5, chunkBytes: 16384, assumeClean: true, consistencyPolicy: 'ppl', cleanDelayMs: 0 });
    members.forEach((m, i) => (m.dataFrom = a.slots[i]!.device!.sb.dataOffset * 512));
    const stripe = 3 * 16384;
    const pd = a.layout.row(0).pd;
    assert.equal(a.layout.row(4).pd, pd);
    assert.equal(a.layout.row(8).pd, pd);
    const sig = pplSignature(a.table.master.setUuid);
    const settle = async (until: () => boolean) => {
      for (let i = 0; i < 200 && !until(); i++) await new Promise<void>((r) => setImmediate(r));
      assert.ok(until());
    };
    hold = new Promise<void>((r) => (release = r));
    const rows = [0, 4].map((row) => bytes(stripe, 20 + row));
    const first = a.write(rows[0]!, 0);
    await settle(() => held === 4); // three data chunks and parity, waiting
    const second = a.write(rows[1]!, 4 * stripe);
    await settle(() => held === 8); // its header did not wait for the first stripe
    const h = (await newest(members[pd]!, sig)).header;
    assert.deepEqual(h.entries.map((e) => [e.dataSector, e.ppSize]), [[0, 0], [4 * 96, 0]]);
    // A partial write must not be logged while unflushed full-stripe writes are in flight (its partial parity would read them).
    const partial = a.write(bytes(4096, 30), 8 * stripe);
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    assert.equal((await newest(members[pd]!, sig)).header.generation, h.generation);
    release();
    hold = null;
    await Promise.all([first, second, partial]);
    const last = (await newest(members[pd]!, sig)).header;
    assert.deepEqual(last.entries.map((e) => [e.dataSector, e.ppSize]), [[8 * 96, 4096]]);
    assert.equal((await scrub(a, 'check')).mismatches, 0);
    const got = new Uint8Array(stripe);
    await a.read(got, 4 * stripe);
    assert.deepEqual(got, rows[1]);
    await a.stop();
  });

  it('a healthy dirty PPL array whose log is empty stays dirty (md resyncs it), and check passes after resync', async () => {
    const members = pplMembers(3);
    const a = await create(members, { level: 5, chunkBytes: 4096, assumeClean: true, consistencyPolicy: 'ppl', cleanDelayMs: 0 });
    await a.markDirty();
    const images = members.map((m) => new MemoryMember(m.name, m.data.slice()));
    await a.stop();
    const { array: b } = await assemble(images, { cleanDelayMs: 0 });
    assert.equal(b.needsResync, true);
    assert.equal((await scrub(b, 'check')).mismatches, 0);
    await b.stop();
  });
});
