/** The `asynctx raid` forms scripts call, end to end through bin/asynctx.js. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { bytes } from '../raid/helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, 'raid', ...args], { cwd, encoding: 'utf8' });

describe('asynctx raid CLI', () => {
  it('create, write, degraded read, check --json; errors exit non-zero with one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-cli-'));
    try {
      const ms = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
      let r = run(dir, 'create', '--level', '6', '--chunk', '64K', '--layout', 'left-symmetric', '--member-size', '8M', ...ms);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /created raid6 .* 6 members, 64K chunk, left-symmetric/);
      const data = bytes(3_000_123, 9);
      writeFileSync(join(dir, 'in.bin'), data);
      r = run(dir, 'write', '--input', 'in.bin', '--offset', '4097', '-q', 'd5', 'd3', 'd1', 'd0', 'd2', 'd4');
      assert.equal(r.status, 0, r.stderr);
      r = run(dir, 'read', '--output', 'out.bin', '--offset', '4097', '--length', String(data.length), '-q', 'd1', 'd3', 'd4', 'd5');
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(join(dir, 'out.bin')).equals(Buffer.from(data)));
      r = run(dir, 'check', '--json', '-q', ...ms);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).mismatches, 0);
      r = run(dir, 'examine', 'd2');
      assert.match(r.stdout, /Device Role : Active device 2/);
      r = run(dir, 'read', '--output', 'x', '--offset', '999999999', '-q', ...ms);
      assert.notEqual(r.status, 0);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      r = run(dir, 'examine', 'in.bin');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no md superblock/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
