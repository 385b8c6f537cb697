/**
 * Arrays written by the real Linux md driver (test/fixtures/md): every payload
 * reads back byte for byte, healthy and with every set of members RAID allows
 * to be missing; check finds 0 mismatches; examine and detail print the field
 * values mdadm printed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { assemble, detailText, examineText, readSuperblock, scrub } from '../../src/raid/index.js';
import { FIXTURE_NAMES, fixtureMembers, loadFixture, subsets } from './helpers.js';

/** The "### <title>" sections of mdadm-detail.txt. */
function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('### ')) out.set(line.slice(4), (cur = []));
    else cur.push(line);
  }
  return out;
}

/** "Label : value" lines as a map (the first occurrence wins). */
function fields(lines: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf(' : ');
    if (i > 0 && !m.has(l.slice(0, i).trim())) m.set(l.slice(0, i).trim(), l.slice(i + 3).trimEnd());
  }
  return m;
}

for (const name of FIXTURE_NAMES) {
  describe(`md fixture ${name}`, () => {
    const f = loadFixture(name);
    const n = Number(f.meta.ndisks);
    const maxMissing = Number(f.meta.level) === 6 ? 2 : 1;

    it('payload matches its recorded SHA-256', () => {
      assert.equal(createHash('sha256').update(f.payload).digest('hex'), f.meta.payload_sha256);
    });

    for (let k = 0; k <= maxMissing; k++) {
      for (const missing of subsets(n, k)) {
        it(`reads the payload byte for byte with ${missing.length ? `members ${missing.join('+')} missing` : 'every member'}`, async () => {
          const members = fixtureMembers(f).filter((_, i) => !missing.includes(i)).reverse(); // any order
          const { array } = await assemble(members, { readonly: true });
          const buf = new Uint8Array(f.payload.length);
          await array.read(buf, 0);
          assert.ok(Buffer.from(buf).equals(Buffer.from(f.payload)), 'payload differs');
          // An unaligned window through a chunk boundary, too.
          const at = Number(f.meta.chunk_kib) * 1024 - 777;
          const win = new Uint8Array(5000);
          await array.read(win, at);
          assert.ok(Buffer.from(win).equals(Buffer.from(f.payload.subarray(at, at + 5000))));
          // Nothing was written to any member (read-only assembly).
          members.forEach((m) => assert.equal(m.writes, 0));
        });
      }
    }

    it('check reports 0 mismatched sectors', async () => {
      const { array } = await assemble(fixtureMembers(f), { readonly: true });
      const r = await scrub(array, 'check');
      assert.equal(r.mismatches, 0);
      assert.equal(r.bytes, array.componentSectors * 512);
    });

    it('examine prints the fields mdadm --examine printed, for every member', async () => {
      const sec = sections(f.detail);
      const members = fixtureMembers(f);
      for (let i = 0; i < n; i++) {
        const key = [...sec.keys()].find((k) => k.startsWith(`mdadm --examine /dev/m${i} `))!;
        const want = sec.get(key)!.filter((l) => l.trim() !== '' && !l.startsWith('/dev/'));
        const sb = await readSuperblock(members[i]!);
        const got = examineText(`/dev/m${i}`, sb, members[i]!.size / 512).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('/dev/'));
        assert.deepEqual(got, want);
      }
    });

    it('detail prints the fields mdadm --detail printed', async () => {
      const want = fields(sections(f.detail).get('mdadm --detail /dev/md0')!);
      const { array } = await assemble(fixtureMembers(f), { readonly: true });
      const got = fields(detailText(array).split('\n'));
      for (const label of ['Version', 'Creation Time', 'Raid Level', 'Array Size', 'Used Dev Size', 'Raid Devices', 'Total Devices', 'Persistence', 'Update Time', 'State', 'Active Devices', 'Working Devices', 'Failed Devices', 'Spare Devices', 'Layout', 'Chunk Size', 'Consistency Policy', 'Name', 'UUID', 'Events']) {
        assert.equal(got.get(label), want.get(label), label);
      }
    });
  });
}
