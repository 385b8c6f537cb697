/**
 * Arrays that mdadm 4.2 created under the Linux 6.1 md driver, captured by
 * scripts/md-verify (`matrix.mjs --capture`): md's superblocks (slot order),
 * the member sizes, and what `mdadm --examine` and `mdadm --detail` printed
 * (test/fixtures/md-real/*.json.gz, see its README). asynctx, creating on
 * members of the same sizes, must write md's geometry field for field; and
 * its examine and detail must print what mdadm printed for md's superblocks.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import {
  assemble,
  create,
  decodeSuperblock,
  detailText,
  dirtyChunks,
  readMemberBitmap,
  examineText,
  parseLayout,
  readSuperblock,
  SECTOR,
  type Superblock,
} from '../../src/raid/index.js';
import { SparseMember } from './sparse_member.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/md-real/', import.meta.url));

interface RealFixture {
  id: string;
  level: number;
  layout: string;
  chunkKiB: number;
  raidDisks: number;
  variant: string;
  memberBytes: number[];
  md: { arrayBytes: number; componentKiB: number; dataOffset: number };
  superblocks: Array<string | null>;
  examineSlot: number;
  examine: string;
  detail: string;
}

function load(file: string): RealFixture {
  return JSON.parse(gunzipSync(readFileSync(DIR + file)).toString('utf8')) as RealFixture;
}

/** md's members: the captured superblock at 4 KiB of each present slot, zeros elsewhere. */
async function mdMembers(f: RealFixture): Promise<SparseMember[]> {
  const out: SparseMember[] = [];
  for (const [slot, b64] of f.superblocks.entries()) {
    if (b64 === null) continue;
    const m = new SparseMember(`/dev/md-real${slot}`, f.memberBytes[slot]!);
    await m.write(Buffer.from(b64, 'base64'), 4096);
    out.push(m);
  }
  return out;
}

function mdSuperblock(f: RealFixture, slot: number): Superblock {
  return decodeSuperblock(Buffer.from(f.superblocks[slot]!, 'base64'), 2, Math.floor(f.memberBytes[slot]! / SECTOR));
}

/** Fields that follow from the shape and the member sizes alone (not time, uuids, events or who was a spare). */
const GEOMETRY: ReadonlyArray<keyof Superblock> = [
  'minorVersion', 'featureMap', 'level', 'layout', 'size', 'chunkSize', 'raidDisks', 'dataOffset', 'dataSize', 'superOffset',
  'bblogShift', 'bblogSize', 'bblogOffset', 'bitmapOffset', 'newLevel', 'newLayout', 'newChunk', 'deltaDisks',
  'reshapePosition', 'newOffset', 'resyncOffset', 'recoveryOffset', 'devflags', 'cntCorrectedRead', 'maxDev',
];

/** "Label : value" of mdadm-style text; mdadm's "(local to host H)" depends on the machine it ran on, not on the disk. */
function fields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split('\n')) {
    const i = l.indexOf(' : ');
    if (i > 0 && !m.has(l.slice(0, i).trim())) m.set(l.slice(0, i).trim(), l.slice(i + 3).replace(/\s+\(local to host [^)]*\)$/, '').trim());
  }
  return m;
}

/** The device table of --detail: number, raid device and state per row; major:minor only where md prints 0 0 (an empty slot). */
function deviceTable(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^\s+(-?\d+|-)\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)\s+\S/.test(l))
    .map((l) => {
      const t = l.trim().split(/\s+/);
      const state = t.slice(4).filter((x) => STATE_WORD.test(x)).join(' ');
      return `${t[0]} ${state === 'removed' ? `${t[1]}:${t[2]} ` : ''}${t[3]} ${state}`;
    });
}

/** Words of the State column of mdadm's device table (the device's name follows them). */
const STATE_WORD = /^(active|sync|spare|rebuilding|faulty|removed|writemostly|failfast|replacement|journal)$/;

const DETAIL_FIELDS = [
  'Version', 'Creation Time', 'Raid Level', 'Array Size', 'Used Dev Size', 'Raid Devices', 'Total Devices', 'Persistence',
  'State', 'Active Devices', 'Working Devices', 'Failed Devices', 'Spare Devices', 'Layout', 'Chunk Size', 'Consistency Policy',
  'Name', 'UUID',
];

const files = readdirSync(DIR).filter((f) => f.endsWith('.json.gz')).sort();

describe('regressions found by md-verify', () => {
  it('RAID-4 is recorded as layout 0, as mdadm and md write it (asynctx wrote 5)', async () => {
    const f = load('rev-resync-r4-parity-last-512k-3x8M.json.gz');
    assert.equal(mdSuperblock(f, 0).layout, 0);
    const members = f.memberBytes.map((b, i) => new SparseMember(`t${i}`, b));
    const array = await create(members, { level: 4, chunkBytes: f.chunkKiB * 1024, assumeClean: true, cleanDelayMs: 0 });
    await array.stop();
    assert.equal((await readSuperblock(members[0]!)).layout, 0);
  });

  it('examine prints no Unused Space line where one sector follows the data, as mdadm (asynctx printed "after=1 sectors")', async () => {
    // The mixed-size shape of md-verify: member 2 is 9 MiB + 512 bytes, so exactly one sector is left after its data.
    const f = load('rev-clean-r6-right-symmetric-128k-mixed-20M+100M+9.00M+20M+12M.json.gz');
    const members = f.memberBytes.map((b, i) => new SparseMember(`t${i}`, b));
    const array = await create(members, { level: 6, layout: parseLayout(6, f.layout), chunkBytes: f.chunkKiB * 1024, assumeClean: true, cleanDelayMs: 0 });
    await array.stop();
    const text = async (i: number) => examineText(`t${i}`, await readSuperblock(members[i]!), Math.floor(f.memberBytes[i]! / SECTOR));
    const sb2 = await readSuperblock(members[2]!);
    assert.equal(Math.floor(f.memberBytes[2]! / SECTOR) - sb2.dataOffset - sb2.size, 1);
    assert.doesNotMatch(await text(2), /Unused Space/);
    // Elsewhere the line stays, as md printed it for the captured member.
    assert.match(await text(f.examineSlot), /Unused Space : before=\d+ sectors, after=\d+ sectors/);
    assert.match(f.examine, /Unused Space : before=\d+ sectors, after=\d+ sectors/);
  });

  it("detail prints an empty slot as md's removed row: number '-', device 0 0, no padding (asynctx printed -1 - -)", async () => {
    const f = load('rev-missing-r4-parity-last-64k-4x33M.json.gz');
    const { array } = await assemble(await mdMembers(f), { readonly: true });
    const text = detailText(array);
    await array.stop();
    const removed = (t: string) => t.split('\n').find((l) => l.endsWith('removed'));
    assert.equal(removed(text), removed(f.detail));
    assert.equal(removed(text), '       -       0        0        2      removed');
  });
});

/** The sections ("=== NAME") of mdadm-detail-faulty-recovering.txt. */
function detailSections(): Map<string, string> {
  const text = readFileSync(DIR + 'mdadm-detail-faulty-recovering.txt', 'utf8');
  const out = new Map<string, string>();
  for (const part of text.split(/^=== /m).slice(1)) out.set(part.slice(0, part.indexOf('\n')), part.slice(part.indexOf('\n') + 1));
  return out;
}

/** The device table as lines, blank lines kept; device names dropped, major:minor kept only for md's empty-slot rows. */
function tableLines(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.includes('Number   Major   Minor   RaidDevice State'));
  return lines.slice(start + 1).map((l) => {
    if (!l.trim()) return '';
    const t = l.trim().split(/\s+/);
    const state = t.slice(4).filter((x) => STATE_WORD.test(x)).join(' ');
    return `${t[0]} ${state === 'removed' ? `${t[1]}:${t[2]}` : '-'} ${t[3]} ${state}`;
  }).join('\n').trim().split('\n');
}

describe('regressions found by md-verify: members out of their slots', () => {
  const md = detailSections();
  const counts = ['State', 'Total Devices', 'Active Devices', 'Working Devices', 'Failed Devices', 'Spare Devices'];

  it('detail lists a faulty member after a blank line with RaidDevice "-", its slot as removed (asynctx listed it in its slot)', async () => {
    const members = Array.from({ length: 4 }, (_, i) => new SparseMember(`m${i}`, 8 << 20));
    const array = await create(members, { level: 5, chunkBytes: 64 * 1024, assumeClean: true, cleanDelayMs: 0 });
    await array.fail(2);
    const text = detailText(array);
    await array.stop();
    const theirs = md.get('DETAIL-FAULTY')!;
    for (const k of counts) assert.equal(fields(text).get(k), fields(theirs).get(k), k);
    assert.deepEqual(tableLines(text), tableLines(theirs));
  });

  it('a member added to a running array is numbered from raid_disks up, as md numbers it (asynctx reused the lowest free number)', async () => {
    const members = Array.from({ length: 4 }, (_, i) => new SparseMember(`m${i}`, 8 << 20));
    const array = await create(members, { level: 5, chunkBytes: 64 * 1024, assumeClean: true, cleanDelayMs: 0 });
    await array.fail(2);
    await array.remove(2);
    assert.equal(await array.add(new SparseMember('m4', 8 << 20)), 2);
    const text = detailText(array);
    await array.stop();
    const theirs = md.get('DETAIL-RECOVERING')!;
    assert.equal(array.slots[2]!.device!.sb.devNumber, 4);
    for (const k of counts) assert.equal(fields(text).get(k), fields(theirs).get(k), k);
    assert.deepEqual(tableLines(text), tableLines(theirs));
    // md printed 30% at the moment it was captured; nothing is rebuilt here yet.
    assert.match(text, /\n\n    Rebuild Status : 0% complete\n\n/);
    assert.match(theirs, /\n\n    Rebuild Status : \d+% complete\n\n/);
  });

  it('detail lists spares after a blank line, as mdadm', async () => {
    const f = load('rev-resync-r5-parity-first-16k-6x33.00M.json.gz');
    const members = f.memberBytes.map((b, i) => new SparseMember(`t${i}`, b));
    const array = await create(members, { level: 5, chunkBytes: 64 * 1024, assumeClean: true, cleanDelayMs: 0 });
    assert.equal(await array.add(new SparseMember('extra', f.memberBytes[0]!)), -1);
    const lines = tableLines(detailText(array));
    await array.stop();
    assert.deepEqual(lines.slice(-2), ['', '6 - - spare']);
  });
});

describe('members over 100 GiB: an internal bitmap by default, as mdadm 4.2 adds one', () => {
  it('create without --bitmap on the 250 GiB fixture members keeps a bitmap; it assembles writable and stops with no dirty bit', async () => {
    const f = load('rev-sbonly-r5-left-symmetric-512k-3x256000M.json.gz');
    const members = f.memberBytes.map((b, i) => new SparseMember(`big${i}`, b));
    const array = await create(members, { level: f.level, chunkBytes: f.chunkKiB * 1024, assumeClean: true, cleanDelayMs: 0 });
    await array.stop();
    const sb = await readSuperblock(members[0]!);
    const theirs = mdSuperblock(f, 0);
    assert.equal(sb.featureMap, 1);
    assert.equal(sb.bitmapOffset, 8);
    // The data offset and size are what mdadm --bitmap=none wrote: the bitmap lives in space mdadm reserves anyway.
    for (const k of ['dataOffset', 'size', 'bblogSize'] as const) assert.equal(sb[k], theirs[k], k);
    // mdadm 4.2 puts the bad-block log right after the bitmap as written (4000 bits: one 4 KiB page), not after the space kept.
    assert.equal(theirs.bblogOffset, 8 + 256);
    assert.equal(sb.bblogOffset, 8 + 8);
    assert.match(examineText('big0', sb, Math.floor(f.memberBytes[0]! / SECTOR)), /Internal Bitmap : 8 sectors from superblock/);
    const bm = await readMemberBitmap(members[0]!, sb);
    assert.equal(bm.super.chunkSize, 64 << 20);
    const { array: rw } = await assemble(members, { cleanDelayMs: 0 });
    assert.match(detailText(rw), /Consistency Policy : bitmap/);
    await rw.write(new Uint8Array(1 << 20).fill(7), 123 * 2 ** 30);
    await rw.stop();
    for (const m of members) {
      const got = await readMemberBitmap(m, await readSuperblock(m));
      assert.equal(dirtyChunks(got.bits, Math.ceil(got.super.syncSize / (got.super.chunkSize / 512))).length, 0);
    }
  });
});

describe('arrays mdadm created (test/fixtures/md-real)', () => {
  it('has fixtures', () => assert.ok(files.length >= 5, `only ${files.length} fixtures in ${DIR}`));
  for (const file of files) {
    const f = load(file);
    describe(f.id, () => {
      it('asynctx create on members of the same sizes writes md geometry, field for field', async () => {
        const members = f.memberBytes.map((b, i) => new SparseMember(`t${i}`, b));
        const array = await create(members, {
          level: f.level,
          layout: parseLayout(f.level, f.layout),
          chunkBytes: f.chunkKiB * 1024,
          assumeClean: true,
          cleanDelayMs: 0,
          // The captures over 100 GiB were made with mdadm --bitmap=none (README).
          bitmap: f.md.componentKiB > 100 * 1024 * 1024 ? 'none' : undefined,
        });
        assert.equal(array.size, f.md.arrayBytes, 'array size');
        assert.equal(array.componentSectors, f.md.componentKiB * 2, 'component size');
        await array.stop();
        for (const [slot, b64] of f.superblocks.entries()) {
          if (b64 === null) continue;
          const theirs = mdSuperblock(f, slot);
          const mine = await readSuperblock(members[slot]!);
          for (const k of GEOMETRY) assert.deepEqual(mine[k], theirs[k], `slot ${slot}: ${k}`);
        }
      });

      it('examine prints what mdadm --examine printed', () => {
        const sb = mdSuperblock(f, f.examineSlot);
        const mine = fields(examineText('x', sb, Math.floor(f.memberBytes[f.examineSlot]! / SECTOR)).split('\n').slice(1).join('\n'));
        const theirs = fields(f.examine.split('\n').slice(1).join('\n'));
        assert.deepEqual([...mine].sort(), [...theirs].sort());
      });

      it('detail of the assembled members prints what mdadm --detail printed', async () => {
        const { array } = await assemble(await mdMembers(f), { readonly: true });
        const text = detailText(array);
        const mine = fields(text);
        const theirs = fields(f.detail);
        for (const k of DETAIL_FIELDS) assert.equal(mine.get(k), theirs.get(k), k);
        assert.deepEqual(deviceTable(text), deviceTable(f.detail));
        await array.stop();
      });
    });
  }
});
