/** `asynctx demo` end to end through bin/asynctx.js, at a tiny size: the tour a newcomer runs first must pass. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));

describe('asynctx demo', () => {
  it('writes, fails 2 members, reads back verified, rebuilds, checks 0 mismatches, and removes its temp folder', () => {
    // Its own TMPDIR, so "the temp folder is gone" is checked without racing other tests' folders.
    const tmp = mkdtempSync(join(tmpdir(), 'asynctx-demo-test-'));
    try {
      const r = spawnSync(process.execPath, [BIN, 'demo', '--size', '8M', '--json'], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as {
        dir: string;
        kept: boolean;
        dataBytes: number;
        verified: boolean;
        mismatches: number;
        failed: number[];
        phases: Array<{ name: string; engines: string; mbps: number; mainThreadCpu: number | null }>;
      };
      assert.equal(s.dataBytes, 8 << 20);
      assert.equal(s.verified, true);
      assert.equal(s.mismatches, 0);
      assert.deepEqual(s.failed, [1, 4]);
      assert.equal(s.kept, false);
      assert.ok(s.dir.startsWith(tmp), s.dir);
      assert.equal(existsSync(s.dir), false, 'the demo removed its folder');
      assert.deepEqual(readdirSync(tmp), []);
      // Both halves measured: one inline, one on worker engines, for the write and the degraded read.
      for (const name of ['write', 'degraded read (2 missing)']) {
        const ph = s.phases.filter((p) => p.name === name);
        assert.equal(ph.length, 2, name);
        assert.match(ph[0]!.engines, /inline/);
        assert.doesNotMatch(ph[1]!.engines, /inline/);
        for (const p of ph) assert.ok(p.mbps > 0);
      }
      assert.ok(s.phases.some((p) => p.name === 'rebuild 2 members'));
      assert.ok(s.phases.some((p) => p.name === 'check'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('--keep DIR keeps the members and prints the commands to try next', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-demo-keep-'));
    try {
      const r = spawnSync(process.execPath, [BIN, 'demo', '--size', '4M', '--quiet', '--keep', dir], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(readdirSync(dir).sort(), ['member0.img', 'member1.img', 'member2.img', 'member3.img', 'member4.img', 'member5.img']);
      assert.match(r.stdout, /asynctx raid detail /);
      assert.match(r.stdout, /asynctx raid check /);
      const detail = spawnSync(process.execPath, [BIN, 'raid', 'detail', ...readdirSync(dir).map((f) => join(dir, f))], { encoding: 'utf8' });
      assert.equal(detail.status, 0, detail.stderr);
      assert.match(detail.stdout, /raid6/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
