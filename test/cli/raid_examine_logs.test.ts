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
  it('create --metadata 1.0 / 1.1 puts the superblock where mdadm does; examine shows it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-meta-'));
    try {
      for (const [version, superOffset] of [['1.0', '16368'], ['1.1', '0']] as const) {
        const ms = ['a', 'b', 'c'].map((n) => `${n}${version}`);
        let r = run(dir, 'create', '--level', '5', '--chunk', '64K', '--member-size', '8M', '-q', '--metadata', version, ...ms);
        assert.equal(r.status, 0, r.stderr);
        r = run(dir, 'examine', ms[0]!);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`Version : ${version.replace('.', '\\.')}\\n`));
        assert.match(r.stdout, new RegExp(`Super Offset : ${superOffset} sectors\\n`));
        r = run(dir, 'check', ...ms);
        assert.equal(r.status, 0, r.stderr);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('create --bitmap internal round-trips through examine --bitmap; detail names the bitmap policy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-bitmap-'));
    try {
      const ms = ['d0', 'd1', 'd2'];
      let r = run(dir, 'create', '--level', '5', '--chunk', '64K', '--member-size', '8M', '-q', '--bitmap', 'internal', '--bitmap-chunk', '64K', ...ms);
      assert.equal(r.status, 0, r.stderr);
      r = run(dir, 'examine', '--bitmap', 'd1');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Magic : 6d746962\n/);
      assert.match(r.stdout, /Chunksize : 64 KB\n/);
      assert.match(r.stdout, /Daemon : 5s flush period\n/);
      // The initial sync ran and the clean stop cleared every bit mdadm's creation sets.
      assert.match(r.stdout, /Bitmap : 112 bits \(chunks\), 0 dirty \(0\.0%\)\n/);
      r = run(dir, 'examine', '--bitmap', '--json', 'd0');
      const j = JSON.parse(r.stdout) as Array<{ chunkSize: number; dirty: number; events: number; eventsCleared: number }>;
      assert.equal(j[0]!.chunkSize, 65536);
      assert.equal(j[0]!.dirty, 0);
      r = run(dir, 'detail', ...ms);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Intent Bitmap : Internal\n/);
      assert.match(r.stdout, /Consistency Policy : bitmap\n/);
      r = run(dir, 'create', '--level', '5', '--member-size', '8M', '-q', '--force', '--bitmap', 'internal', '--bitmap-chunk', '2K', ...ms);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^asynctx: bitmap chunk 2048 is too small for these members: at least 4096 bytes\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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
