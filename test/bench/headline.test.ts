/** `asynctx bench headline --quick --json` at a tiny size: the row shape the README and scripts rely on. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { barChartSvg, niceMax } from '../../bench/svg_chart.js';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const CASES = ['seq-write', 'raw-write', 'seq-read', 'raw-read', 'degraded-read-1', 'degraded-read-2', 'random-rw', 'resync', 'check'];

describe('asynctx bench headline', () => {
  it('--quick --json: one row per case, level, block size and policy, every case; --report writes markdown and SVG', () => {
    const report = mkdtempSync(join(tmpdir(), 'asynctx-headline-test-'));
    try {
      const r = spawnSync(process.execPath, [BIN, 'bench', 'headline', '--quick', '--size', '4M', '--runs', '1', '--json', '--report', report], { encoding: 'utf8', timeout: 90_000 });
      assert.equal(r.status, 0, r.stderr);
      const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      for (const row of rows) {
        assert.deepEqual(Object.keys(row).slice(0, 6), ['case', 'level', 'blockBytes', 'policy', 'mbps', 'mainThreadCpu']);
        assert.ok(CASES.includes(row.case as string), String(row.case));
        assert.ok(row.level === 5 || row.level === 6);
        assert.ok(row.policy === 'inline' || row.policy === 'auto');
        assert.equal(typeof row.blockBytes, 'number');
        assert.ok((row.mbps as number) > 0);
        assert.ok(row.mainThreadCpu === null || (typeof row.mainThreadCpu === 'number' && row.mainThreadCpu >= 0));
        assert.ok(typeof row.loopP99Ms === 'number' && row.loopP99Ms >= (row.loopP50Ms as number));
      }
      assert.deepEqual([...new Set(rows.map((x) => x.case))].sort(), [...CASES].sort());
      // RAID-6: 5 streaming cases x 2 sizes + resync + check, for both policies, and the two raw rows
      // per size (no engine: one row each); RAID-5 has no degraded-read-2.
      assert.equal(rows.filter((x) => x.level === 6).length, (5 * 2 + 2) * 2 + 2 * 2);
      assert.equal(rows.filter((x) => x.level === 5).length, (4 * 2 + 2) * 2 + 2 * 2);
      assert.ok(!rows.some((x) => x.level === 5 && x.case === 'degraded-read-2'));
      assert.match(r.stderr, /page cache/);
      const md = readFileSync(join(report, 'README.md'), 'utf8');
      assert.match(md, /\| seq-write \| raid6 \| 128K \|/);
      for (const f of ['raid6-mbps.svg', 'raid6-cpu.svg', 'raid5-mbps.svg', 'raid5-cpu.svg']) assert.ok(existsSync(join(report, f)), f);
    } finally {
      rmSync(report, { recursive: true, force: true });
    }
  });

  it('the SVG writer: one bar per measured value, escaped labels, a nice axis', () => {
    const svg = barChartSvg({ title: 'a < b', unit: 'MB/s', categories: ['x', 'y'], series: [{ name: 's', color: '#000', values: [1, null] }, { name: 't', color: '#111', values: [2, 3] }] });
    assert.match(svg, /^<svg /);
    assert.match(svg, /a &lt; b/);
    assert.equal((svg.match(/<title>/g) ?? []).length, 3);
    assert.equal(niceMax(3.2), 5);
    assert.equal(niceMax(1200), 2000);
  });
});
