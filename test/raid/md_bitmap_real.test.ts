/**
 * Arrays with an internal write-intent bitmap from the real md (Linux 6.1, mdadm 4.2),
 * captured by scripts/md-verify's bitmap cases (test/fixtures/md-bitmap, see its README):
 * each member's first MiB (superblock, bitmap, bad-block log) as md left it, and what
 * mdadm -X printed for it. asynctx must read md's bitmap as mdadm -X reads it; create the
 * bitmap mdadm creates on members of the same sizes; and, from the bitmap md left at a
 * crash, resync only the chunks md marked dirty.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { assemble, bitmapBits, bitmapExamineText, create, dirtyChunks, parseLayout, readMemberBitmap, readSuperblock, resync, type Superblock } from '../../src/raid/index.js';
import { SparseMember } from './sparse_member.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/md-bitmap/', import.meta.url));

interface BitmapFixture {
  id: string;
  level: number;
  layout: string;
  chunkKiB: number;
  raidDisks: number;
  /** mdadm --bitmap-chunk as given ("64K", "1M"), or null for mdadm's default. */
  bitmapChunk: string | null;
  meta: '1.0' | '1.1' | '1.2';
  memberBytes: number[];
  /** Each member's first MiB, gzip, base64 (none for 1.0). */
  heads: string[];
  /** 1.0: each member's last 64 KiB (superblock, bad-block log, bitmap), gzip, base64. */
  tails?: string[];
  /** mdadm -X text by tag: `${headsTag}${i}` is member i as the heads hold it. */
  xbitmap: Record<string, string>;
  headsTag?: string;
  /** bm-rev-kill: the dirty bits asynctx counted on each member when captured. */
  asxDirty?: number[];
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json.gz')).sort();
const load = (file: string): BitmapFixture => JSON.parse(gunzipSync(readFileSync(DIR + file)).toString('utf8')) as BitmapFixture;

async function mdMembers(f: BitmapFixture): Promise<SparseMember[]> {
  return Promise.all(f.memberBytes.map(async (bytes, i) => {
    const m = new SparseMember(`/dev/md-bm${i}`, bytes);
    if (f.tails) {
      const tail = gunzipSync(Buffer.from(f.tails[i]!, 'base64'));
      await m.write(tail, bytes - tail.length);
    } else await m.write(gunzipSync(Buffer.from(f.heads[i]!, 'base64')), 0);
    return m;
  }));
}

/** "Label : value" of mdadm -X text, without the Filename line (it names the device). */
function xfields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split('\n')) {
    const i = l.indexOf(' : ');
    if (i > 0) m.set(l.slice(0, i).trim(), l.slice(i + 3).trim());
  }
  m.delete('Filename');
  return m;
}

const sizeOf = (s: string): number => Number(s.slice(0, -1)) * { K: 1024, M: 1 << 20, G: 1 << 30 }[s.slice(-1) as 'K' | 'M' | 'G'];

/** Superblock fields that follow from the shape, the members and the bitmap chunk. */
const GEOMETRY: ReadonlyArray<keyof Superblock> = [
  'minorVersion', 'featureMap', 'level', 'layout', 'size', 'chunkSize', 'raidDisks', 'dataOffset', 'dataSize', 'superOffset',
  'bblogShift', 'bblogSize', 'bblogOffset', 'bitmapOffset', 'resyncOffset', 'maxDev',
];

describe('bitmap arrays md made or kept (test/fixtures/md-bitmap)', () => {
  it('has fixtures', () => assert.ok(files.length >= 8, `only ${files.length} fixtures in ${DIR}`));
  for (const file of files) {
    const f = load(file);
    describe(f.id, () => {
      if (f.headsTag) {
        it('examine --bitmap prints what mdadm -X printed, for every member', async () => {
          const members = await mdMembers(f);
          for (const [i, m] of members.entries()) {
            const bm = await readMemberBitmap(m, await readSuperblock(m));
            const theirs = f.xbitmap[`${f.headsTag}${i}`];
            assert.ok(theirs, `no mdadm -X text for member ${i}`);
            assert.deepEqual([...xfields(bitmapExamineText(m.name, bm.super, bm.bits))], [...xfields(theirs)], `member ${i}`);
          }
        });
      }

      if (f.id.startsWith('bm-rev-') && f.headsTag === 'S') {
        it("create on members of the same sizes writes md's superblock geometry and bitmap header", async () => {
          const mine = f.memberBytes.map((b, i) => new SparseMember(`t${i}`, b));
          // No --bitmap-chunk: the members are over 100 GiB and asynctx must add mdadm's bitmap by itself.
          const array = await create(mine, {
            level: f.level, layout: parseLayout(f.level, f.layout), chunkBytes: f.chunkKiB * 1024, assumeClean: true, cleanDelayMs: 0, metadata: f.meta,
            ...(f.bitmapChunk ? { bitmap: 'internal' as const, bitmapChunkBytes: sizeOf(f.bitmapChunk) } : {}),
          });
          await array.stop();
          const theirs = await mdMembers(f);
          for (let i = 0; i < mine.length; i++) {
            const a = await readSuperblock(mine[i]!);
            const b = await readSuperblock(theirs[i]!);
            for (const k of GEOMETRY) assert.deepEqual(a[k], b[k], `member ${i}: ${k}`);
            const ba = (await readMemberBitmap(mine[i]!, a)).super;
            const bb = (await readMemberBitmap(theirs[i]!, b)).super;
            for (const k of ['version', 'chunkSize', 'syncSize', 'daemonSleep', 'writeBehind', 'sectorsReserved', 'nodes', 'state'] as const) assert.equal(ba[k], bb[k], `member ${i}: bitmap ${k}`);
          }
        });
      }

      if (f.asxDirty) {
        it("resyncs from md's crashed bitmap only the chunks md marked dirty, then leaves no dirty bit", async () => {
          const members = await mdMembers(f);
          const sb = await readSuperblock(members[0]!);
          const before = await readMemberBitmap(members[0]!, sb);
          const dirty = dirtyChunks(before.bits, bitmapBits(before.super));
          assert.equal(dirty.length, f.asxDirty![0]);
          assert.ok(dirty.length > 0);
          const { array } = await assemble(members, { cleanDelayMs: 0 });
          assert.equal(array.needsResync, true, 'md left the array dirty');
          // The data past the first MiB is not in the fixture (zeros): consistent, so 0 rewritten.
          const r = await resync(array);
          await array.stop();
          assert.equal(r.mismatches, 0);
          assert.equal(r.bytes, array.componentSectors * 512);
          // Every stripe of a dirty chunk walked, every other one skipped.
          const walked = r.bytes - r.skipped;
          const chunkBytes = before.super.chunkSize;
          const expected = dirty.reduce((n, c) => n + Math.min(chunkBytes, r.bytes - c * chunkBytes), 0);
          assert.equal(walked, expected);
          for (const m of members) {
            const after = await readMemberBitmap(m, await readSuperblock(m));
            assert.equal(dirtyChunks(after.bits, bitmapBits(after.super)).length, 0);
            // The bits past the last chunk stay as mdadm wrote them (set: its create fills the bitmap with 0xff), as md leaves them.
            assert.deepEqual(after.bits.subarray(-1), before.bits.subarray(-1).map((b) => b & ~((1 << (bitmapBits(before.super) % 8 || 8)) - 1)));
          }
        });
      }
    });
  }
});
