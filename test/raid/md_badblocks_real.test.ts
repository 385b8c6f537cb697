/**
 * Arrays with bad blocks recorded by the real md (Linux 6.1, mdadm 4.2), captured by
 * scripts/md-verify's bad-block cases (test/fixtures/md-badblocks, see its README): md wrote a
 * payload, took bad blocks injected through sysfs into its logs, and the sectors it listed were
 * then overwritten on the raw members. asynctx must list each member's log as
 * `mdadm --examine-badblocks` printed it, read the whole array byte for byte without touching a
 * listed sector (from parity); and after writing over some of them (write, then clear), list
 * what md then listed of asynctx's logs (bb-fwd, round 2) and read the new bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { assemble, badBlocksText, MemoryMember, readMemberBadBlocks, readSuperblock, type BadBlock } from '../../src/raid/index.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/md-badblocks/', import.meta.url));

interface BadBlockFixture {
  id: string;
  level: number;
  raidDisks: number;
  memberBytes: number;
  dataOffset: number;
  arrayBytes: number;
  /** The payload md wrote: labels(arrayBytes, tag). */
  payload: { labels: string };
  sha256: string;
  /** What was written to dev-*\/bad_blocks (absolute member sectors). */
  injected: Array<{ member: number; sector: number; length: number }>;
  /** mdadm --examine-badblocks of each member (slot order), as printed. */
  examineBadblocks: string[];
  /** Round 2: asynctx wrote labels(length, tag) at offset; md then listed its logs so. */
  forward?: { offset: number; length: number; labels: string; sha256: string; examineBadblocks: string[] };
}

const cases = readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const load = (id: string): BadBlockFixture => JSON.parse(readFileSync(`${DIR}${id}/case.json`, 'utf8')) as BadBlockFixture;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** scripts/md-verify/badblock_cases.mjs's payload: a label per 512-byte sector, then zeros. */
function labels(len: number, tag: string): Buffer {
  const out = Buffer.alloc(len);
  for (let s = 0; s * 512 < len; s++) out.write(`asynctx-bb ${tag} sector=${s}\n`, s * 512, 'latin1');
  return out;
}

/** The device name mdadm printed ("Bad-blocks on /dev/sda:", "… is empty in /dev/sdb"). */
const mdName = (text: string): string => /(?:on|in) (\S+?):?\n/.exec(text)![1]!;

/** Members from the fixture's images, named as mdadm named them. */
function mdMembers(f: BadBlockFixture, texts: readonly string[]): MemoryMember[] {
  return Array.from({ length: f.raidDisks }, (_, i) => new MemoryMember(mdName(texts[i]!), new Uint8Array(gunzipSync(readFileSync(`${DIR}${f.id}/disk${i}.img.gz`)))));
}

/** From now on, notes every read of a sector the member's log lists now. */
async function watch(members: readonly MemoryMember[]): Promise<string[]> {
  const touched: string[] = [];
  for (const [i, m] of members.entries()) {
    const list = await readMemberBadBlocks(m, await readSuperblock(m));
    m.faults.read = (pos, len) => {
      if (list.some((b) => b.sector * 512 < pos + len && pos < (b.sector + b.length) * 512)) touched.push(`member ${i}: ${len} bytes at ${pos}`);
      return false;
    };
  }
  return touched;
}

async function listing(m: MemoryMember): Promise<{ text: string; list: BadBlock[] }> {
  const sb = await readSuperblock(m);
  const list = await readMemberBadBlocks(m, sb);
  return { text: badBlocksText(m.name, sb, list), list };
}

async function readAll(members: MemoryMember[], bytes: number): Promise<Buffer> {
  const { array } = await assemble(members, { readonly: true });
  const buf = Buffer.alloc(bytes);
  await array.read(buf, 0);
  await array.stop();
  return buf;
}

describe('arrays with bad blocks md recorded (test/fixtures/md-badblocks)', () => {
  it('has the RAID-5 and RAID-6 fixtures', () => assert.deepEqual(cases.map((c) => load(c).level).sort(), [5, 6]));
  for (const id of cases) {
    const f = load(id);
    describe(id, () => {
      it('examine --badblocks prints what mdadm --examine-badblocks printed, for every member', async () => {
        const members = mdMembers(f, f.examineBadblocks);
        for (const [i, m] of members.entries()) {
          const { text, list } = await listing(m);
          assert.equal(text, f.examineBadblocks[i], `member ${i}`);
          // What md listed covers what was injected, and the raw sectors there are not the data.
          for (const b of f.injected.filter((x) => x.member === i)) {
            for (let x = b.sector; x < b.sector + b.length; x++) assert.ok(list.some((r) => r.sector <= x && x < r.sector + r.length), `member ${i}: sector ${x} listed`);
            assert.match(Buffer.from(m.data.subarray(b.sector * 512, b.sector * 512 + 21)).toString('latin1'), /^BAD-SECTOR-ON-MEMBER-/);
          }
        }
        assert.ok(f.injected.length >= 5);
      });

      it('reads the whole array byte for byte, from parity where a member lists bad blocks', async () => {
        const members = mdMembers(f, f.examineBadblocks);
        const touched = await watch(members);
        const got = await readAll(members, f.arrayBytes);
        assert.deepEqual(touched, [], 'no listed sector read');
        assert.ok(got.equals(labels(f.arrayBytes, f.payload.labels)), 'bytes');
        assert.equal(sha(got), f.sha256);
      });

      if (f.forward) {
        const fw = f.forward;
        it("writes over listed ranges, clearing what it wrote, and lists its logs as md then listed them", async () => {
          const members = mdMembers(f, fw.examineBadblocks);
          const { array } = await assemble(members, { cleanDelayMs: 0 });
          await array.write(labels(fw.length, fw.labels), fw.offset);
          await array.stop();
          for (const [i, m] of members.entries()) assert.equal((await listing(m)).text, fw.examineBadblocks[i], `member ${i}`);
          const before = f.examineBadblocks.join('').split('\n').filter((l) => / for \d+ sectors$/.test(l)).length;
          const after = fw.examineBadblocks.join('').split('\n').filter((l) => / for \d+ sectors$/.test(l)).length;
          assert.ok(after > 0 && after < before, `ranges ${before} -> ${after}`);
          const touched = await watch(members);
          const got = await readAll(members, f.arrayBytes);
          assert.deepEqual(touched, [], 'no listed sector read');
          const want = labels(f.arrayBytes, f.payload.labels);
          want.set(labels(fw.length, fw.labels), fw.offset);
          assert.ok(got.equals(want), 'bytes');
          assert.equal(sha(got), fw.sha256);
        });
      }
    });
  }
});
