/** --workers / --policy on the raid verbs, and `asynctx bench raid`, end to end through bin/asynctx.js. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { bytes } from '../raid/helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });

describe('asynctx raid --workers / --policy', () => {
  it('create, write and a degraded read on worker engines give the same bytes; bad values exit 2 with one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-raid_workers-'));
    try {
      const ms = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
      let r = run(dir, 'raid', 'create', '--level', '6', '--chunk', '64K', '--member-size', '8M', '--workers', '1', ...ms);
      assert.equal(r.status, 0, r.stderr);
      const data = bytes(2_500_017, 3);
      writeFileSync(join(dir, 'in.bin'), data);
      r = run(dir, 'raid', 'write', '--input', 'in.bin', '--offset', '513', '--workers', '1', '--policy', 'offload', '-q', ...ms);
      assert.equal(r.status, 0, r.stderr);
      r = run(dir, 'raid', 'read', '--output', 'out.bin', '--offset', '513', '--length', String(data.length), '--workers', 'auto', '-q', 'd0', 'd2', 'd3', 'd5');
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(join(dir, 'out.bin')).equals(Buffer.from(data)));
      r = run(dir, 'raid', 'check', '--json', '-q', '--policy', 'inline', ...ms);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).mismatches, 0);
      for (const bad of [['--workers', 'many'], ['--policy', 'sometimes']]) {
        r = run(dir, 'raid', 'check', '-q', ...bad, ...ms);
        assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(bad[0]!));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bench raid --json reports inline and worker rows with main-thread CPU, and the ratios', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asynctx-cli-bench-'));
    try {
      const r = run(dir, 'bench', 'raid', '--member-size', '8M', '--chunk', '64K', '--runs', '1', '--min-time', '0', '--workers', '1', '--dir', dir, '--json');
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        rows: Array<{ case: string; engines: string; mbps: number; mainThreadCpu: number | null }>;
        engines: Array<{ engines: string; writeRatio: number; degradedReadRatio: number }>;
        pageCache: { canHide: boolean; text: string };
        writeCeilingRatio: number;
      };
      assert.deepEqual(
        out.engines.map((e) => e.engines),
        ['inline (no workers)', '1 worker, policy auto'],
      );
      for (const e of out.engines) assert.ok(e.writeRatio > 0 && e.degradedReadRatio > 0);
      assert.ok(out.writeCeilingRatio > 0);
      assert.equal(out.rows.length, 12);
      for (const row of out.rows) {
        assert.ok(row.mbps > 0, row.case);
        if (process.platform === 'linux') assert.ok(row.mainThreadCpu !== null && row.mainThreadCpu >= 0 && row.mainThreadCpu <= 1.5, row.case);
      }
      assert.equal(out.pageCache.canHide, true);
      assert.match(out.pageCache.text, /page cache CAN hide I\/O/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
