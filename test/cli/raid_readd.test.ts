/** `asynctx raid add` of a member that left a bitmap array: a re-add, and what its rebuild reports. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, 'raid', ...args], { cwd, encoding: 'utf8' });

interface RebuildJson { rebuilt: number[]; bytes: number; skipped: number; aborted: boolean }
const rebuildJson = (stdout: string): RebuildJson => JSON.parse(stdout.slice(stdout.indexOf('{'))) as RebuildJson;

describe('asynctx raid add: re-add on a bitmap array', () => {
  it('rebuilds only the chunks written while the member was out, and says how much the bitmap skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-readd-'));
    try {
      const ms = ['r0', 'r1', 'r2', 'r3'];
      let r = run(dir, 'create', '--level', '5', '--chunk', '64K', '--member-size', '16M', '-q', '--assume-clean', '--bitmap', 'internal', '--bitmap-chunk', '512K', ...ms);
      assert.equal(r.status, 0, r.stderr);
      writeFileSync(join(dir, 'p'), Buffer.alloc(300 * 1024, 7));
      assert.equal(run(dir, 'fail', '--member', '3', ...ms).status, 0);
      r = run(dir, 'write', '-q', '--input', 'p', '--offset', String(5 << 20), ...ms);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(run(dir, 'remove', '--member', 'r3', ...ms).status, 0);
      r = run(dir, 'add', '-q', '--json', '--member', 'r3', 'r0', 'r1', 'r2');
      assert.equal(r.status, 0, r.stderr);
      const readd = rebuildJson(r.stdout);
      // 300 KiB at 5 MiB of a 3-data-disk array: one or two 512 KiB bitmap chunks per member, the rest skipped.
      assert.deepEqual(readd.rebuilt, [3]);
      assert.ok(readd.bytes - readd.skipped > 0 && readd.bytes - readd.skipped <= 2 * 512 * 1024, `recovered ${readd.bytes - readd.skipped}`);
      r = run(dir, 'check', '--json', ...ms);
      assert.equal((JSON.parse(r.stdout) as { mismatches: number }).mismatches, 0);
      // A blank member instead: no bitmap guides it, nothing is skipped; the text says nothing of skipping.
      assert.equal(run(dir, 'fail', '--member', '3', ...ms).status, 0);
      assert.equal(run(dir, 'remove', '--member', 'r3', ...ms).status, 0);
      rmSync(join(dir, 'r3'));
      r = run(dir, 'add', '-q', '--member', 'r3', 'r0', 'r1', 'r2');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /rebuild: slot 3 in sync; [\d.]+ MB in [\d.]+ s\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
