/** `asynctx raid create --consistency-policy ppl`, `raid update --consistency-policy`, and what detail/examine say. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { bytes } from '../raid/helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, 'raid', ...args], { cwd, encoding: 'utf8' });

describe('asynctx raid --consistency-policy', () => {
  it('create ppl (RAID-5 only, refused for RAID-6 before any file is made), detail and examine report it, update switches it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-ppl-'));
    try {
      let r = run(dir, 'create', '-q', '--level', '6', '--consistency-policy', 'ppl', '--member-size', '8M', 'e0', 'e1', 'e2', 'e3');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /PPL consistency policy is only supported for RAID level 5/);
      assert.equal(existsSync(join(dir, 'e0')), false);
      const ms = ['d0', 'd1', 'd2', 'd3'];
      r = run(dir, 'create', '-q', '--level', '5', '--chunk', '64K', '--consistency-policy', 'ppl', '--member-size', '8M', ...ms);
      assert.equal(r.status, 0, r.stderr);
      assert.match(run(dir, 'detail', ...ms).stdout, /Consistency Policy : ppl\n/);
      const ex = run(dir, 'examine', 'd1').stdout;
      assert.match(ex, /Feature Map : 0x800\n/);
      assert.match(ex, /PPL : 2048 sectors at offset 8 sectors from superblock\n/);
      assert.doesNotMatch(ex, /does not support/);
      const data = bytes(200_000, 3);
      writeFileSync(join(dir, 'in.bin'), data);
      // Degraded writes with a PPL say nothing about a write hole: there is none.
      r = run(dir, 'write', '--input', 'in.bin', '--offset', '512', 'd0', 'd2', 'd3');
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /write hole/);
      r = run(dir, 'read', '-q', '--output', 'out.bin', '--offset', '512', '--length', String(data.length), 'd0', 'd2', 'd3');
      assert.ok(readFileSync(join(dir, 'out.bin')).equals(Buffer.from(data)));
      r = run(dir, 'update', '--consistency-policy', 'resync', 'd0', 'd2', 'd3');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /consistency policy: resync/);
      const detail = run(dir, 'detail', 'd0', 'd2', 'd3').stdout;
      assert.match(detail, /Consistency Policy : resync\n {8}Write Hole : open: degraded without a journal or PPL/);
      assert.equal(JSON.parse(run(dir, 'detail', '--json', 'd0', 'd2', 'd3').stdout).writeHoleOpen, true);
      // Without the log the same degraded write says so, once.
      r = run(dir, 'write', '--input', 'in.bin', '--offset', '512', 'd0', 'd2', 'd3');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.match(/write hole/g)?.length, 1, r.stderr);
      r = run(dir, 'update', '--json', '--consistency-policy', 'ppl', 'd0', 'd2', 'd3');
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { consistencyPolicy: 'ppl' });
      assert.match(run(dir, 'examine', 'd3').stdout, /PPL : 2048 sectors at offset 8/);
      assert.doesNotMatch(run(dir, 'detail', 'd0', 'd2', 'd3').stdout, /Write Hole/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
