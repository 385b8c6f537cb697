/**
 * Regression: a usage error raised inside a command (not by commander's own parsing) exited 2
 * with no message at all, because main.ts swallowed every CommanderError. Each case must now
 * print one line that says what was wrong, and still exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const MEMBERS = ['d0', 'd1', 'd2', 'd3'];

describe('usage errors raised inside a command exit 2 with a one-line message (they were silent)', () => {
  let dir = '';
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'raid', ...args], { cwd: dir, encoding: 'utf8' });
  const assertUsage = (r: ReturnType<typeof run>, pattern: RegExp): void => {
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^asynctx: /);
    assert.match(lines[0]!, pattern);
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-usage-'));
    const r = run('create', '--level', '5', '--chunk', '64K', '--member-size', '4M', '--assume-clean', '-q', ...MEMBERS);
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(join(dir, 'in.bin'), Buffer.alloc(4096, 7));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('raid write --offset past the end', () => {
    assertUsage(run('write', '--input', 'in.bin', '--offset', '1G', '-q', ...MEMBERS), /--offset .* past the end of the array/);
  });

  it('raid read --offset past the end', () => {
    assertUsage(run('read', '--output', 'out.bin', '--offset', '1G', '-q', ...MEMBERS), /--offset .* past the end of the array/);
  });

  it('raid fail --member nosuch', () => {
    assertUsage(run('fail', '--member', 'nosuch', '-q', ...MEMBERS), /--member nosuch is not an active member/);
  });

  it('errors commander reports itself are still printed once', () => {
    const r = run('read', '--offset', 'zz', '--output', 'x', ...MEMBERS);
    assert.equal(r.status, 2);
    assert.equal((r.stderr.match(/is not a size/g) ?? []).length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /^asynctx: /m);
  });
});
