/**
 * md's bad-block log in the I/O path: listed ranges are never read (the bytes there are
 * garbage in these fixtures) and are rebuilt from parity; too many unavailable is a clear
 * EIO; a good write clears, a failed write records (and a full log fails the member); read
 * errors are rebuilt, rewritten and read back; scrubs and rebuilds work around the lists; the
 * log survives stop and assembly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  assemble, encodeBadBlocks, encodeSuperblock, Feature, readMemberBadBlocks, readSuperblock, rebuild, scrub, UnreadableRangeError,
  MemoryMember, type BadBlock, type RaidArray,
} from '../../src/raid/index.js';
import { mergeBadBlocks } from '../../src/raid/badblocks.js';
import { bytes, memoryArray } from './helpers.js';

const CHUNK = 16 * 1024;
const MEMBER = (1 << 20) + 32 * CHUNK;

/** An array with data written, stopped: members and the bytes they hold. */
async function fixture(level: 5 | 6, n = level === 5 ? 4 : 5, seed = 1) {
  const { array, members } = await memoryArray(n, MEMBER, { level, layout: 2, chunkBytes: CHUNK, unit: 8192 });
  const model = bytes(array.size, seed);
  await array.write(model, 0);
  await array.stop();
  return { members, model };
}

/** Writes `list` (sectors from the data offset) into the member's log, sets its feature bit, and garbles the listed sectors. */
async function injectBad(member: MemoryMember, list: readonly BadBlock[]): Promise<void> {
  if (list.length === 0) return;
  const sb = await readSuperblock(member);
  const abs = list.map((b) => ({ sector: sb.dataOffset + b.sector, length: b.length }));
  member.data.set(encodeBadBlocks(abs, sb.bblogShift, sb.bblogSize * 512)!, (sb.superOffset + sb.bblogOffset) * 512);
  member.data.set(encodeSuperblock({ ...sb, featureMap: sb.featureMap | Feature.BadBlocks }), sb.superOffset * 512);
  for (const b of abs) member.data.fill(0xee, b.sector * 512, (b.sector + b.length) * 512);
}

async function listOnDisk(member: MemoryMember): Promise<BadBlock[]> {
  const sb = await readSuperblock(member);
  return (await readMemberBadBlocks(member, sb)).map((b) => ({ sector: b.sector - sb.dataOffset, length: b.length }));
}

async function readAll(array: RaidArray): Promise<Uint8Array> {
  const got = new Uint8Array(array.size);
  await array.read(got, 0);
  return got;
}

function same(a: Uint8Array, b: Uint8Array, what: string): void {
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), what);
}

/** The member sector (from the data offset) and slot holding array byte `at`. */
function place(array: RaidArray, at: number): { disk: number; sector: number } {
  const m = array.layout.mapSector(Math.floor(at / 512));
  return { disk: m.disk, sector: m.memberSector };
}

describe('bad blocks on reads', () => {
  for (const level of [5, 6] as const) {
    it(`RAID-${level}: listed ranges are rebuilt from parity, byte for byte, reads around their edges included`, async () => {
      const { members, model } = await fixture(level);
      await injectBad(members[1]!, [{ sector: 37, length: 5 }, { sector: 300, length: 64 }]);
      if (level === 6) await injectBad(members[3]!, [{ sector: 39, length: 9 }]); // two members bad in one stripe
      const { array, warnings } = await assemble(members, { cleanDelayMs: 0 });
      assert.ok(warnings.some((w) => w.includes('bad block')), warnings.join('; '));
      same(await readAll(array), model, 'whole read');
      for (const [at, len] of [[36 * 512 + 7, 700], [41 * 512, 512], [CHUNK * 3 - 100, 9000], [299 * 512 + 1, 66 * 512]] as const) {
        for (let k = 0; k < array.layout.dataDisks; k++) {
          const off = Math.min(array.size - len, at + k * CHUNK);
          const got = new Uint8Array(len);
          await array.read(got, off);
          same(got, model.subarray(off, off + len), `read ${off}+${len}`);
        }
      }
      assert.equal(array.errors.length, 0);
      await array.stop();
    });
  }

  it('RAID-6: a third member bad in the same range is a clear EIO; the rest of the array reads', async () => {
    const { members, model } = await fixture(6);
    for (const m of [0, 2, 4]) await injectBad(members[m]!, [{ sector: 64, length: 8 }]);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    const row = CHUNK * array.layout.dataDisks; // member sector 64 is in chunk row 2
    await assert.rejects(array.read(new Uint8Array(row), 2 * row), (e: unknown) => e instanceof UnreadableRangeError && e.code === 'ASYNCTX_ERR_RAID_EIO' && /unreadable/.test(e.message));
    const before = new Uint8Array(2 * row);
    await array.read(before, 0);
    same(before, model.subarray(0, 2 * row), 'before the lost range');
    const after = new Uint8Array(array.size - 3 * row);
    await array.read(after, 3 * row);
    same(after, model.subarray(3 * row), 'past the lost range');
    assert.equal(array.slots.every((s) => s.state === 'in_sync'), true);
    await array.stop();
  });

  it('RAID-6: bad ranges on three members at different sectors of one stripe still read', async () => {
    const { members, model } = await fixture(6);
    for (const [m, s] of [[0, 2], [2, 9], [4, 20]] as const) await injectBad(members[m]!, [{ sector: s, length: 3 }]);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    same(await readAll(array), model, 'whole read');
    await array.stop();
  });

  it('RAID-5: a bad range with the array degraded is an EIO for that range only', async () => {
    const { members, model } = await fixture(5);
    await injectBad(members[2]!, [{ sector: 8, length: 1 }]);
    const { array } = await assemble([members[0]!, members[1]!, members[2]!], { cleanDelayMs: 0 });
    await assert.rejects(readAll(array), UnreadableRangeError);
    const got = new Uint8Array(CHUNK * 3);
    await array.read(got, CHUNK * 3 * 4);
    same(got, model.subarray(CHUNK * 12, CHUNK * 15), 'another stripe');
    await array.stop();
  });
});

describe('bad blocks on writes', () => {
  it('a good write clears the range, and the cleared log is written at the next superblock update', async () => {
    const { members, model } = await fixture(5);
    const { array: probe } = await assemble(members, { readonly: true });
    const at = CHUNK * 3 * 2 + 1000; // inside the third stripe
    const p = place(probe, at);
    await probe.stop();
    await injectBad(members[p.disk]!, [{ sector: p.sector, length: 2 }]);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    const d = bytes(2048, 9);
    await array.write(d, at - 100);
    model.set(d, at - 100);
    assert.deepEqual(array.slots[p.disk]!.device!.badBlocks!.entries, []);
    await array.stop();
    assert.deepEqual(await listOnDisk(members[p.disk]!), []);
    assert.equal((await readSuperblock(members[p.disk]!)).featureMap & Feature.BadBlocks, 0);
    const { array: again } = await assemble(members, { cleanDelayMs: 0 });
    same(await readAll(again), model, 'after the clearing write');
    assert.equal((await scrub(again, 'check')).mismatches, 0);
    await again.stop();
  });

  it('a failed write records the range instead of failing the member; the log is on disk before the write completes and survives assembly', async () => {
    const { members, model } = await fixture(6);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    const own = array.slots[3]!.device!.sb;
    const lo = (own.dataOffset + 40) * 512;
    members[3]!.faults = { write: (pos, len) => pos < lo + 4096 && lo < pos + len && pos > own.superOffset * 512 + 8192 };
    const d = bytes(array.size, 77);
    await array.write(d, 0);
    model.set(d);
    assert.equal(array.slots[3]!.state, 'in_sync');
    const listed = await listOnDisk(members[3]!);
    // The failed request may have carried neighbours merged with it: they are recorded too, as md records each bio's stripes.
    assert.ok(listed.some((b) => b.sector <= 40 && b.sector + b.length >= 48), JSON.stringify(listed));
    same(await readAll(array), model, 'read back around the recorded range');
    members[3]!.faults = {};
    await array.stop();
    const { array: again } = await assemble(members, { cleanDelayMs: 0 });
    const sb = again.slots[3]!.device!.sb;
    assert.deepEqual(again.slots[3]!.device!.badBlocks!.entries, mergeBadBlocks(listed.map((b) => ({ sector: b.sector + sb.dataOffset, length: b.length }))));
    same(await readAll(again), model, 'after stop and assembly');
    await again.stop();
  });

  it('a member whose log is full is failed on the next write error', async () => {
    const { members, model } = await fixture(5);
    await injectBad(members[1]!, Array.from({ length: 512 }, (_, i) => ({ sector: 1000 + i * 3, length: 1 })));
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    const x = (array.slots[1]!.device!.sb.dataOffset + 8) * 512;
    members[1]!.faults = { write: (pos, len) => pos <= x && x < pos + len };
    const d = bytes(CHUNK * 3, 5);
    await array.write(d, 0); // the first stripe writes member 1's sector 8
    model.set(d);
    assert.equal(array.slots[1]!.state, 'faulty');
    assert.match(array.errors.map(String).join('; '), /write error on member 1/);
    same(await readAll(array), model, 'degraded read');
    await array.stop();
  });
});

describe('read errors', () => {
  it('a read that fails once is retried alone and recorded nowhere', async () => {
    const { members, model } = await fixture(5);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    const at = (array.slots[1]!.device!.sb.dataOffset + 16) * 512;
    let failures = 0;
    members[1]!.faults = { read: (pos, len) => pos <= at && at < pos + len && failures++ === 0 };
    same(await readAll(array), model, 'read');
    assert.equal(failures, 2);
    assert.equal(array.slots[1]!.device!.badBlocks!.count, 0);
    assert.equal(array.slots[1]!.device!.sb.cntCorrectedRead, 0);
    await array.stop();
  });

  it('a sector that fails a read and its retry is rebuilt, rewritten, read back and counted as corrected', async () => {
    const { members, model } = await fixture(5);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    const at = (array.slots[2]!.device!.sb.dataOffset + 16) * 512;
    let failures = 0;
    // The merged read and its unmerged retry fail; the read-back after the rewrite succeeds.
    members[2]!.faults = { read: (pos, len) => pos <= at && at < pos + len && failures++ < 2 };
    same(await readAll(array), model, 'read through the error');
    assert.equal(failures, 3, 'the range was read again after the rewrite');
    assert.equal(array.slots[2]!.state, 'in_sync');
    assert.deepEqual(array.slots[2]!.device!.badBlocks!.entries, []);
    assert.ok(array.slots[2]!.device!.sb.cntCorrectedRead > 0);
    await array.stop();
    assert.ok((await readSuperblock(members[2]!)).cntCorrectedRead > 0);
  });

  it('a sector that never reads back is recorded bad and persisted; reads are served from parity', async () => {
    const { members, model } = await fixture(6);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    const at = (array.slots[0]!.device!.sb.dataOffset + 100) * 512;
    members[0]!.faults = { read: (pos, len) => pos <= at && at < pos + len };
    same(await readAll(array), model, 'read through the error');
    assert.equal(array.slots[0]!.state, 'in_sync');
    assert.ok((await listOnDisk(members[0]!)).some((b) => b.sector <= 100 && 100 < b.sector + b.length));
    same(await readAll(array), model, 'again, around the recorded range');
    await array.stop();
  });
});

describe('scrubs and rebuilds around bad blocks', () => {
  it('check rebuilds a listed range from parity and writes it back (md clears it), counting no mismatch', async () => {
    const { members, model } = await fixture(6);
    await injectBad(members[4]!, [{ sector: 5, length: 20 }]);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    assert.equal((await scrub(array, 'check')).mismatches, 0);
    assert.deepEqual(array.slots[4]!.device!.badBlocks!.entries, []);
    assert.equal((await scrub(array, 'check')).mismatches, 0, 'the rewritten bytes agree with parity');
    same(await readAll(array), model, 'read');
    await array.stop();
  });

  it('RAID-6 rebuild takes a bad source range from the other members', async () => {
    const { members, model } = await fixture(6);
    await injectBad(members[1]!, [{ sector: 10, length: 30 }]);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    await array.fail(0);
    await array.remove(0);
    const fresh = new MemoryMember('new0', MEMBER);
    await array.add(fresh);
    await rebuild(array);
    assert.equal((await readSuperblock(fresh)).featureMap & Feature.BadBlocks, 0, "a new member does not inherit another's bad-block bit");
    assert.equal((await scrub(array, 'check')).mismatches, 0);
    await array.stop();
    // The new member holds the right bytes: read without the listed member.
    const { array: again } = await assemble([fresh, members[2]!, members[3]!, members[4]!], { readonly: true });
    same(await readAll(again), model, 'rebuilt member');
    await again.stop();
  });

  it('RAID-5 rebuild records what it cannot rebuild as bad blocks on the new member, and reads there fail cleanly', async () => {
    const { members, model } = await fixture(5);
    await injectBad(members[1]!, [{ sector: 70, length: 4 }]);
    const { array } = await assemble(members, { cleanDelayMs: 0 });
    await array.fail(3);
    await array.remove(3);
    const fresh = new MemoryMember('new3', MEMBER);
    await array.add(fresh);
    await rebuild(array);
    assert.equal(array.slots[3]!.state, 'in_sync');
    assert.ok((await listOnDisk(fresh)).some((b) => b.sector <= 70 && 73 < b.sector + b.length));
    const stripe = Math.floor(70 / (CHUNK / 512));
    const rowBytes = CHUNK * 3;
    await assert.rejects(array.read(new Uint8Array(rowBytes), stripe * rowBytes), UnreadableRangeError);
    const got = new Uint8Array(rowBytes);
    await array.read(got, (stripe + 1) * rowBytes);
    same(got, model.subarray((stripe + 1) * rowBytes, (stripe + 2) * rowBytes), 'next stripe');
    await array.stop();
  });
});

describe('property: reads around random bad ranges', () => {
  it('RAID-6 with ranges on any two members (and writes over some) reads back the model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 4 })).map(([a, k]) => [a, (a + k) % 5] as const),
        fc.array(fc.record({ sector: fc.integer({ min: 0, max: 700 }), length: fc.integer({ min: 1, max: 40 }), second: fc.boolean() }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 200_000 }), len: fc.integer({ min: 1, max: 20_000 }) }), { maxLength: 3 }),
        async ([a, b], ranges, writes) => {
          const { members, model } = await fixture(6, 5, 3);
          await injectBad(members[a]!, ranges.filter((r) => !r.second));
          await injectBad(members[b]!, ranges.filter((r) => r.second));
          const { array } = await assemble(members, { cleanDelayMs: 0 });
          writes.forEach((w, i) => {
            model.set(bytes(w.len, i + 50), w.at);
          });
          for (const [i, w] of writes.entries()) await array.write(bytes(w.len, i + 50), w.at);
          same(await readAll(array), model, 'read');
          await array.stop();
        },
      ),
      { numRuns: 12 },
    );
  });
});
