/** `asynctx raid examine --bitmap/--badblocks` through bin/asynctx.js. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, 'raid', ...args], { cwd, encoding: 'utf8' });

describe('asynctx raid examine --bitmap / --badblocks', () => {
  it('a member without a bitmap is a one-line error; the bad-block list is reported like mdadm', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-logs-'));
    try {
      const ms = ['d0', 'd1', 'd2', 'd3'];
      let r = run(dir, 'create', '--level', '5', '--chunk', '64K', '--member-size', '8M', '-q', '--assume-clean', ...ms);
      assert.equal(r.status, 0, r.stderr);
      r = run(dir, 'examine', '--bitmap', 'd0');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^asynctx raid: d0 has no internal write-intent bitmap/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      r = run(dir, 'examine', '--badblocks', 'd1');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^(Bad-blocks list is empty in d1|No bad-blocks list configured on d1)\n$/);
      r = run(dir, 'examine', '--badblocks', '--json', 'd1');
      assert.deepEqual(JSON.parse(r.stdout), [{ path: 'd1', badBlocks: [] }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
