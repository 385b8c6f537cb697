/** The ISA-L reference rows: the harness builds where cc and libisal-dev are, and says how to get them where not. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ISAL_HOW_TO, isalHarness } from '../../bench/isal.js';

describe('bench: ISA-L reference rows', () => {
  it('builds the harness when it can, and its pq_gen and xor_gen rows measure', (t) => {
    const h = isalHarness();
    if (!('path' in h)) {
      assert.ok(h.why.startsWith(ISAL_HOW_TO), h.why);
      return t.diagnostic(`skipped: ${h.why}`);
    }
    assert.ok(existsSync(h.path));
    for (const [op, isa] of [['pq', 'auto'], ['xor', 'sse']] as const) {
      const r: { status: number | null; stdout: string; stderr: string } = spawnSync(h.path, [op, '8', '4096', 'hot', '1048576', '1', '1', '2', isa], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.ok((JSON.parse(r.stdout) as { gbps: number }).gbps > 0);
    }
    const bad = spawnSync(h.path, ['pq', '8', '100', 'hot', '0', '1', '1', '1'], { encoding: 'utf8' });
    assert.equal(bad.status, 2, 'a block that is not a multiple of 32 is refused');
  });
});
