/**
 * The internal write-intent bitmap kept as md keeps it (src/raid/write_intent.ts): bits on every
 * member before data, cleared lazily by the daemon, none left by a clean stop, and after a crash
 * or a member's return only the chunks it marks are resynced or recovered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assemble, bitmapSectors, create, dirtyChunks, encodeBitmapSuper, decodeBitmapSuper, internalBitmapGeometry, MAX_SECTOR, MemoryMember, memberSpan,
  readMemberBitmap, readSuperblock, rebuild, resync, scrub, RaidUsageError, type Member, type RaidArray,
} from '../../src/raid/index.js';
import { bytes } from './helpers.js';

type Event = { member: number; op: 'read' | 'write' | 'sync'; pos: number; len: number };

/** A member that records its I/O in a log shared by the array's members (write order across members). */
class Recorder implements Member {
  constructor(
    readonly inner: MemoryMember,
    readonly index: number,
    readonly log: Event[],
  ) {}
  get name(): string {
    return this.inner.name;
  }
  get size(): number {
    return this.inner.size;
  }
  async read(buf: Uint8Array, pos: number): Promise<void> {
    this.log.push({ member: this.index, op: 'read', pos, len: buf.length });
    await this.inner.read(buf, pos);
  }
  async write(buf: Uint8Array, pos: number): Promise<void> {
    this.log.push({ member: this.index, op: 'write', pos, len: buf.length });
    await this.inner.write(buf, pos);
  }
  async sync(): Promise<void> {
    this.log.push({ member: this.index, op: 'sync', pos: 0, len: 0 });
  }
  async close(): Promise<void> {}
}

const MEMBER = 4 << 20;
const CHUNK = 64 * 1024;
/** Bitmap bits of 64 KiB of member space each: a 4 MiB member has about 60. */
const BM_CHUNK = 64 * 1024;
/** Daemon passes run by hand in these tests (the timer never fires). */
const MANUAL = 1e9;

function recorders(data: Uint8Array[], log: Event[]): Recorder[] {
  return data.map((d, i) => new Recorder(new MemoryMember(`m${i}`, d), i, log));
}

async function bitmapArray(n = 4, level = 5): Promise<{ array: RaidArray; members: Recorder[]; log: Event[] }> {
  const log: Event[] = [];
  const members = recorders(Array.from({ length: n }, () => new Uint8Array(MEMBER)), log);
  const array = await create(members, {
    level, chunkBytes: CHUNK, assumeClean: true, bitmap: 'internal', bitmapChunkBytes: BM_CHUNK, bitmapDaemonMs: MANUAL, cleanDelayMs: 1e9,
  });
  // The creation bits (mdadm sets them all) clear as md's daemon would clear them.
  await array.intent!.daemonPass();
  await array.intent!.daemonPass();
  return { array, members, log };
}

async function dirtyOnDisk(m: Member): Promise<number[]> {
  const bm = await readMemberBitmap(m, await readSuperblock(m));
  return dirtyChunks(bm.bits, Math.ceil(bm.super.syncSize / (bm.super.chunkSize / 512)));
}

/** The members' bytes now, as a crash would leave them. */
function crashImage(members: Recorder[]): Uint8Array[] {
  return members.map((m) => m.inner.data.slice());
}

/** Reads of the data area (not superblock probes) in `log`. */
function dataReads(log: Event[], array: RaidArray): Event[] {
  const start = array.table.master.dataOffset * 512;
  return log.filter((e) => e.op === 'read' && e.pos >= start && e.pos < start + array.componentSectors * 512);
}

describe('write-intent bitmap: kept while writing', () => {
  it("sets a chunk's bit on every member, flushed, before any data of the chunk is written", async () => {
    const { array, members, log } = await bitmapArray();
    const dataStart = array.table.master.dataOffset * 512;
    const offset = 5 * CHUNK * 3 + 4096; // row 5 of a 4-member RAID-5 (3 data chunks a row)
    log.length = 0;
    await array.write(bytes(8192, 1), offset);
    const firstData = log.findIndex((e) => e.op === 'write' && e.pos >= dataStart);
    assert.ok(firstData > 0, 'data was written');
    for (const m of members) {
      const bm = log.findIndex((e) => e.member === m.index && e.op === 'write' && e.pos < dataStart && e.pos >= 8192);
      const fua = log.findIndex((e, i) => i > bm && e.member === m.index && e.op === 'sync');
      assert.ok(bm >= 0 && fua > bm && fua < firstData, `member ${m.index}: bitmap write and its flush precede the data`);
    }
    const [lo, hi] = memberSpan(array.layout, offset, 8192);
    const want = [Math.floor(lo / (BM_CHUNK / 512)), Math.floor((hi - 1) / (BM_CHUNK / 512))].filter((c, i, a) => a.indexOf(c) === i);
    for (const m of members) assert.deepEqual(await dirtyOnDisk(m), want);
    // A second write into the same chunk needs no bitmap I/O.
    log.length = 0;
    await array.write(bytes(512, 2), offset + 512);
    assert.ok(log.every((e) => e.op !== 'write' || e.pos >= dataStart || e.pos < 8192), 'no bitmap write for a chunk already set');
    await array.stop();
  });

  it('clears bits lazily: two daemon passes after the writes drained, events_cleared following events', async () => {
    const { array, members } = await bitmapArray();
    await array.write(bytes(4096, 3), 0);
    assert.equal((await dirtyOnDisk(members[0]!)).length, 1);
    await array.intent!.daemonPass();
    assert.equal((await dirtyOnDisk(members[0]!)).length, 1, 'still set after one pass');
    await array.intent!.daemonPass();
    for (const m of members) assert.deepEqual(await dirtyOnDisk(m), []);
    const bm = await readMemberBitmap(members[1]!, await readSuperblock(members[1]!));
    assert.equal(bm.super.eventsCleared, array.events, 'events_cleared reached the events of the write');
    assert.equal(bm.super.events, array.events);
    await array.stop();
  });

  it('the daemon timer clears bits by itself (daemon_sleep)', async () => {
    const members = Array.from({ length: 3 }, (_, i) => new MemoryMember(`t${i}`, MEMBER));
    const array = await create(members, { level: 5, chunkBytes: CHUNK, assumeClean: true, bitmap: 'internal', bitmapChunkBytes: BM_CHUNK, bitmapDaemonMs: 5, cleanDelayMs: 1e9 });
    await array.write(bytes(4096, 4), 1 << 20);
    const deadline = Date.now() + 5000;
    while ((await dirtyOnDisk(members[0]!)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(await dirtyOnDisk(members[0]!), []);
    await array.stop();
  });

  it('a clean stop leaves no dirty bit and a clean superblock', async () => {
    const { array, members } = await bitmapArray();
    for (let i = 0; i < 6; i++) await array.write(bytes(12345, 10 + i), i * 300_000);
    assert.ok((await dirtyOnDisk(members[0]!)).length > 1);
    await array.stop();
    for (const m of members) {
      assert.deepEqual(await dirtyOnDisk(m), []);
      assert.equal((await readSuperblock(m)).resyncOffset, MAX_SECTOR);
    }
  });

  it('writes while degraded keep their bits through a stop (a re-add will need them)', async () => {
    const { array, members } = await bitmapArray();
    await array.fail(2);
    await array.write(bytes(4096, 5), 0);
    await array.stop();
    assert.equal((await dirtyOnDisk(members[0]!)).length, 1);
  });
});

describe('write-intent bitmap: used after a crash', () => {
  it('a dirty array resyncs only the chunks whose bits are set', async () => {
    const { array, members } = await bitmapArray();
    const a = 2 * CHUNK * 3;
    const b = 40 * CHUNK * 3;
    await array.write(bytes(CHUNK, 6), a);
    await array.write(bytes(CHUNK, 7), b);
    const image = crashImage(members); // dirty superblocks, two bits set
    const log: Event[] = [];
    const again = recorders(image, log);
    const { array: back } = await assemble(again, { bitmapDaemonMs: MANUAL });
    assert.ok(back.needsResync && back.dirty);
    const dataStart = back.table.master.dataOffset * 512;
    log.length = 0; // assembly probes superblocks (the 1.0 place lies in this small member's data area)
    const r = await resync(back);
    const cs = BM_CHUNK / 512;
    const allowed = [2, 40].map((row) => Math.floor((row * (CHUNK / 512)) / cs));
    const reads = dataReads(log, back);
    assert.ok(reads.length > 0);
    for (const e of reads) assert.ok(allowed.includes(Math.floor((e.pos - dataStart) / BM_CHUNK)), `read at ${e.pos - dataStart} is outside the dirty chunks`);
    assert.equal(r.bytes - r.skipped, 2 * BM_CHUNK);
    assert.equal((await scrub(back, 'check')).mismatches, 0);
    await back.stop();
    assert.deepEqual(await dirtyOnDisk(again[0]!), []);
    assert.equal((await readSuperblock(again[0]!)).resyncOffset, MAX_SECTOR);
  });

  it('parity left wrong in a dirty chunk by the crash is repaired by the bitmap resync', async () => {
    const { array, members } = await bitmapArray();
    await array.write(bytes(CHUNK * 3, 8), 0);
    const image = crashImage(members);
    const dataStart = array.table.master.dataOffset * 512;
    const parity = array.layout.row(0).pd;
    image[parity]!.fill(0x5a, dataStart, dataStart + 4096); // a torn parity update
    const { array: back } = await assemble(recorders(image, []), { bitmapDaemonMs: MANUAL });
    const r = await resync(back);
    assert.ok(r.mismatches > 0);
    assert.equal((await scrub(back, 'check')).mismatches, 0);
    await back.stop();
  });

  it('a bitmap stale by events means a full resync', async () => {
    const { array, members } = await bitmapArray();
    await array.write(bytes(4096, 9), 0);
    const image = crashImage(members);
    for (const d of image) {
      const at = (8 + 8) * 512;
      const h = decodeBitmapSuper(d.subarray(at, at + 256));
      d.set(encodeBitmapSuper({ ...h, events: h.events - 2 }), at);
    }
    const { array: back } = await assemble(recorders(image, []), { bitmapDaemonMs: MANUAL });
    const r = await resync(back);
    assert.equal(r.skipped, 0);
    assert.equal(r.bytes, back.componentSectors * 512);
    await back.stop();
  });
});

describe('write-intent bitmap: a member re-added', () => {
  async function degradedWrite(): Promise<{ array: RaidArray; members: Recorder[]; old: Recorder }> {
    const { array, members } = await bitmapArray();
    await array.write(bytes(3 * CHUNK * 8, 11), 0);
    await array.intent!.daemonPass();
    await array.intent!.daemonPass();
    await array.fail(1);
    const old = (await array.remove(1)) as Recorder;
    await array.write(bytes(CHUNK, 12), 30 * CHUNK * 3); // degraded: its chunk stays needed
    return { array, members, old };
  }

  it('with events >= events_cleared recovers only the dirty chunks', async () => {
    const { array, old } = await degradedWrite();
    const expect = new Uint8Array(array.size);
    await array.read(expect, 0);
    const previous = await readSuperblock(old);
    assert.ok(previous.events >= array.intent!.eventsCleared);
    assert.equal(await array.add(old, previous), 1);
    assert.equal(array.slots[1]!.bitmapSync, true);
    const dataStart = array.table.master.dataOffset * 512;
    old.log.length = 0;
    const r = await rebuild(array);
    const writes = old.log.filter((e) => e.member === 1 && e.op === 'write' && e.pos >= dataStart);
    assert.ok(writes.length > 0);
    const chunk = Math.floor((30 * (CHUNK / 512)) / (BM_CHUNK / 512));
    for (const e of writes) assert.equal(Math.floor((e.pos - dataStart) / BM_CHUNK), chunk);
    assert.equal(r.bytes - r.skipped, BM_CHUNK);
    assert.equal((await scrub(array, 'check')).mismatches, 0);
    await array.fail(0); // now member 1 must serve what it holds
    const got = new Uint8Array(array.size);
    await array.read(got, 0);
    assert.ok(Buffer.from(got).equals(Buffer.from(expect)));
    await array.stop();
  });

  it('older than events_cleared (bits cleared since it left) is recovered fully', async () => {
    const { array, old } = await degradedWrite();
    const previous = await readSuperblock(old);
    // Another member fills the slot and the array becomes whole: bits clear, events_cleared moves past the old member.
    assert.equal(await array.add(new MemoryMember('fresh', MEMBER)), 1);
    await rebuild(array);
    await array.write(bytes(4096, 13), 0);
    assert.ok(array.intent!.eventsCleared > previous.events);
    await array.fail(1);
    await array.remove(1);
    assert.equal(await array.add(old, previous), 1);
    assert.notEqual(array.slots[1]!.bitmapSync, true);
    const r = await rebuild(array);
    assert.equal(r.skipped, 0);
    assert.equal((await scrub(array, 'check')).mismatches, 0);
    await array.stop();
  });

  it('a bitmap-guided recovery is recorded (RECOVERY_BITMAP) and resumes after reassembly', async () => {
    const { array, members, old } = await degradedWrite();
    await array.add(old, await readSuperblock(old));
    const sb = await readSuperblock(old);
    assert.ok((sb.featureMap & 128) !== 0, 'md_feature_recovery_bitmap on the re-added member');
    await array.markClean(); // md will not start an array dirty and degraded either
    const image = crashImage([...members.slice(0, 1), old, ...members.slice(2)]);
    await array.stop();
    const { array: back } = await assemble(recorders(image, []), { bitmapDaemonMs: MANUAL });
    assert.equal(back.slots[1]!.bitmapSync, true);
    const r = await rebuild(back);
    assert.ok(r.skipped > 0);
    assert.equal((await scrub(back, 'check')).mismatches, 0);
    await back.stop();
  });
});

describe('write-intent bitmap: created as mdadm 4.2 creates it', () => {
  it("chooses mdadm's chunk: at least 64 MiB, larger when the bits would not fit", () => {
    assert.deepEqual(internalBitmapGeometry(16384), { offset: 8, chunkBytes: 64 << 20 });
    assert.deepEqual(internalBitmapGeometry(250 * 2 ** 21), { offset: 8, chunkBytes: 64 << 20 });
    // 64 TiB per member in 128 KiB of bitmap: 4 KiB doubled until the bits fit is 128 MiB.
    assert.deepEqual(internalBitmapGeometry(64 * 2 ** 31), { offset: 8, chunkBytes: 128 << 20 });
    assert.deepEqual(internalBitmapGeometry(16384, 4096), { offset: 8, chunkBytes: 4096 });
    assert.throws(() => internalBitmapGeometry(16384, 2048), RaidUsageError);
    assert.throws(() => internalBitmapGeometry(64 * 2 ** 31, 64 << 20), RaidUsageError);
    assert.throws(() => internalBitmapGeometry(16384, 3000), RaidUsageError);
  });

  it('create --bitmap internal writes the header and every bit; the initial resync and a clean stop clear them', async () => {
    const members = Array.from({ length: 3 }, (_, i) => new MemoryMember(`c${i}`, MEMBER));
    const array = await create(members, { level: 5, chunkBytes: CHUNK, bitmap: 'internal', bitmapChunkBytes: BM_CHUNK, bitmapDaemonMs: MANUAL, cleanDelayMs: 1e9 });
    const sb = await readSuperblock(members[0]!);
    assert.equal(sb.featureMap & 1, 1);
    assert.equal(sb.bitmapOffset, 8);
    // mdadm >= 4.1 (write_init_super1): the bad-block log right after the bitmap's 4 KiB pages ("offset 16 sectors").
    assert.equal(bitmapSectors(sb.size, BM_CHUNK), 8);
    assert.equal(sb.bblogOffset, 16);
    const bm = await readMemberBitmap(members[0]!, sb);
    const bits = Math.ceil(sb.size / (BM_CHUNK / 512));
    assert.equal(dirtyChunks(bm.bits, bits).length, bits, 'mdadm writes every bit set');
    assert.equal(bm.super.chunkSize, BM_CHUNK);
    assert.equal(bm.super.daemonSleep, 5);
    assert.equal(bm.super.events, sb.events);
    await resync(array);
    await array.stop();
    for (const m of members) assert.deepEqual(await dirtyOnDisk(m), []);
  });
});

describe('write-intent bitmap: members joining a slot', () => {
  it('a spare rebuilt into a slot gets the bitmap, so it can be the member assembly reads it from', async () => {
    const { array, members } = await bitmapArray();
    const spare = new MemoryMember('spare', MEMBER);
    assert.equal(await array.add(spare), -1);
    await array.fail(0);
    await array.remove(0);
    await rebuild(array);
    await array.write(bytes(4096, 14), 0);
    await array.stop();
    assert.deepEqual(await dirtyOnDisk(spare), []);
    const { array: back } = await assemble([spare, ...members.slice(1).map((m) => m.inner)], { bitmapDaemonMs: MANUAL });
    assert.ok(back.intent);
    assert.equal((await scrub(back, 'check')).mismatches, 0);
    await back.stop();
  });
});
