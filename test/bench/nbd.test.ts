/** `asynctx bench nbd --json` at a tiny size: every case is there, with the ratios, load and PSI the report states. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

describe('asynctx bench nbd', () => {
  it('--json: nbdcopy and raid read/write rows of the same bytes, the two ratios, the peer row with nbdkit; leaves nothing behind', (t) => {
    if (!has('nbdcopy')) return t.diagnostic('skipped: nbdcopy (libnbd-bin) not installed');
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-nbd-bench-test-'));
    try {
      const args = ['bench', 'nbd', '--members', '4', '--member-size', '4M', '--chunk', '64K', '--connections', '2', '--runs', '1', '--dir', dir, '--json'];
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 90_000 });
      assert.equal(r.status, 0, r.stderr);
      const res = JSON.parse(r.stdout) as Record<string, unknown> & { rows: Array<{ case: string; bytes: number; mbps: number }> };
      const cases = res.rows.map((x) => x.case);
      for (const c of [/^asynctx raid write/, /^nbdcopy file -> raid serve/, /^asynctx raid read/, /^nbdcopy raid serve -> null:/]) assert.ok(cases.some((x) => c.test(x)), String(c));
      assert.equal(cases.some((x) => /nbdkit file/.test(x)), has('nbdkit'));
      const arrayRows = res.rows.filter((x) => !/nbdkit/.test(x.case));
      assert.ok(arrayRows.every((x) => x.bytes === res['arrayBytes'] && x.mbps > 0));
      assert.equal(res['arrayBytes'], 2 * 3 * 2 ** 20);
      assert.equal(typeof res['readRatio'], 'number');
      assert.equal(typeof res['writeRatio'], 'number');
      assert.equal(res['target'], 0.85);
      assert.match(JSON.stringify(res['cpuPressure']), /CPU pressure/);
      assert.equal((res['loadAverage'] as { before: number[] }).before.length, 3);
      assert.deepEqual(readdirSync(dir), [], 'the member files were left behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
