/**
 * Regression: a dirty degraded array could not be recovered through the CLI —
 * resync ran before rebuild/add and refused degraded arrays. The path now is
 * `raid add --force --member NEW` (assembles the dirty degraded array, rebuilds
 * onto NEW, then resyncs), after which check finds 0 mismatches.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { create, FileMember } from '../../src/raid/index.js';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));

describe('dirty degraded array through the CLI', () => {
  it('regression: dirty + degraded had no CLI path (resync before rebuild refused it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-dirtydeg-'));
    try {
      const paths = ['d0', 'd1', 'd2', 'd3', 'd4'].map((n) => join(dir, n));
      const members = await Promise.all(paths.map((p) => FileMember.create(p, 4 << 20)));
      const array = await create(members, { level: 6, chunkBytes: 65536, assumeClean: true, cleanDelayMs: 1e9 });
      await array.write(new Uint8Array(200_000).fill(3), 4096);
      // Left dirty, as a crash leaves it; then a member is lost.
      await Promise.all(members.map((m) => m.close()));
      unlinkSync(paths[2]!);
      const rest = paths.filter((_, i) => i !== 2);
      const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'raid', ...args], { encoding: 'utf8' });
      const refused = run('check', ...rest);
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /rebuild first/);
      const add = run('add', '--force', '--member', join(dir, 'new'), ...rest);
      assert.equal(add.status, 0, add.stderr);
      const check = run('check', '--json', join(dir, 'new'), ...rest);
      assert.equal(check.status, 0, check.stderr);
      assert.equal(JSON.parse(check.stdout).mismatches, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
