/** `asynctx bench startup` at 3 runs: every case, the bare start as the unit, the targets' verdicts and the load lines. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const CASES = ['node -e 0', 'asynctx --help', 'asynctx raid status', "import('asynctx')", 'import + xor, warm cache', 'import + xor, cache off'];

describe('asynctx bench startup', () => {
  it('--json: one row per case, ratios to node -e 0', () => {
    const r = spawnSync(process.execPath, [BIN, 'bench', 'startup', '--runs', '3', '--json'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; wallMs: number; cpuMs: number; ratio: number; aboveMs: number });
    assert.deepEqual(rows.map((x) => x.name), CASES);
    assert.equal(rows[0]!.ratio, 1);
    for (const x of rows) {
      assert.ok(x.wallMs > 0 && x.cpuMs > 0, x.name);
      assert.ok(Math.abs(x.ratio * rows[0]!.wallMs - x.wallMs) < 1e-6 && Math.abs(x.aboveMs - (x.wallMs - rows[0]!.wallMs)) < 1e-6, x.name);
    }
  });

  it('prints the targets with a verdict, and the load before and after; refuses a run count under 3', () => {
    const r = spawnSync(process.execPath, [BIN, 'bench', 'startup', '--runs', '3'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.match(/^target: .*: (MET|NOT MET) \(/gm)?.length, 3, r.stdout);
    assert.match(r.stdout, /load average [\d.]+ [\d.]+ [\d.]+; CPU pressure/);
    assert.match(r.stdout, /^load average after: /m);
    const bad = spawnSync(process.execPath, [BIN, 'bench', 'startup', '--runs', '2'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /bad run count "2"/);
  });
});
