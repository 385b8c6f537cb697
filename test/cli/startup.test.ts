/**
 * Start-up that costs nothing: `asynctx --help` loads no part of the library
 * (only the commands' flags), and the verbs that only inspect an array
 * (status, detail, examine) load no worker-engine code, compile no kernel and
 * run no kernel selection. Evidence is what the process loaded and compiled
 * (test/load_recorder.ts), not timing; `raid check` is the control that shows
 * the recorder sees the kernels and the client when a command does use them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildProgram, COMMANDS } from '../../src/cli/main.js';
import { recordedRun, type Recorded } from '../load_recorder.js';

const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));
const MEMBERS = ['d0', 'd1', 'd2', 'd3'];
/** What a command that computes nothing must not load: the client (and through it the worker engines) and the worker driver. */
const ENGINES = /\/dist\/src\/(client\.js|drivers\/worker\/)/;
/** What a verb that only reports must not load either: the submit path, kernels, arena, NBD client and server, the benchmarks. */
const COMPUTE = /\/dist\/src\/(async_tx\/(index|client|submit|context)\.js|kernels\/|mem\/|dmaengine\/index\.js|sched\/|nbd\/|raid\/(index|create|resync|default_ops)\.js)|\/dist\/bench\//;
/** What --help must not load: any of the library below the CLI's flag definitions. */
const LIBRARY = /\/dist\/src\/(client\.js|index\.js|provider\.js|kernels\/|drivers\/|async_tx\/|dmaengine\/|sched\/|mem\/|nbd\/|raid\/(index|array|assemble)\.js)/;

describe('CLI start-up loads only what the command uses', () => {
  let dir = '';
  let cache = '';
  const run = (...args: string[]): Recorded => recordedRun([BIN, ...args], { cwd: dir, env: { XDG_CACHE_HOME: cache } });
  const cacheFile = () => join(cache, 'asynctx', 'kernels.json');
  const loaded = (r: Recorded, pattern: RegExp) => r.modules.filter((u) => pattern.test(u));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-startup-'));
    const r = spawnSync(process.execPath, [BIN, 'raid', 'create', '--level', '6', '--chunk', '64K', '--member-size', '4M', '--assume-clean', '-q', ...MEMBERS], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const freshCache = (): void => {
    cache = mkdtempSync(join(dir, 'cache-'));
  };

  it('--help lists every command and loads none of the library', () => {
    freshCache();
    const r = run('--help');
    assert.equal(r.status, 0, r.stderr);
    for (const cmd of ['raid', 'stats', 'demo', 'bench']) assert.match(r.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), r.stdout);
    assert.ok(r.modules.some((u) => u.endsWith('/dist/src/cli/main.js')), 'the recorder saw the CLI load');
    assert.deepEqual(loaded(r, LIBRARY), []);
    assert.deepEqual(loaded(r, /\/dist\/bench\/(?!summary\.js)/), [], 'only the stand-in of the benchmarks (bench/summary.ts)');
    assert.equal(r.wasmCompiles, 0);
    assert.equal(existsSync(cacheFile()), false);
  });

  it('raid --help and raid create --help still list every verb and option', () => {
    const verbs = run('raid', '--help');
    assert.equal(verbs.status, 0, verbs.stderr);
    for (const v of ['create', 'examine', 'detail', 'read', 'write', 'serve', 'check', 'repair', 'rebuild', 'fail', 'remove', 'add', 'status']) {
      assert.match(verbs.stdout, new RegExp(`^\\s+${v}\\b`, 'm'), v);
    }
    const create = run('raid', 'create', '--help');
    assert.equal(create.status, 0, create.stderr);
    for (const o of ['--level', '--chunk', '--layout', '--member-size', '--name', '--assume-clean', '--workers', '--policy', '--json', '--force']) assert.ok(create.stdout.includes(o), o);
    const bench = run('bench', 'raid', '--help');
    assert.equal(bench.status, 0, bench.stderr);
    assert.ok(bench.stdout.includes('--merge'), bench.stdout);
    for (const r of [verbs, create, bench]) {
      assert.deepEqual(loaded(r, LIBRARY), []);
      assert.equal(r.wasmCompiles, 0);
    }
  });

  for (const verb of ['status', 'detail', 'examine']) {
    it(`raid ${verb} loads no engine, compiles no kernel and selects none`, () => {
      freshCache();
      const r = run('raid', verb, ...MEMBERS);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, verb === 'examine' ? /Raid Level : raid6/ : /raid6/);
      assert.deepEqual(loaded(r, ENGINES), []);
      assert.deepEqual(loaded(r, COMPUTE), []);
      assert.ok(!r.modules.includes('node:crypto'), 'node:crypto is not loaded');
      assert.equal(r.wasmCompiles, 0);
      assert.equal(existsSync(cacheFile()), false, 'no kernel selection ran (it would have been remembered)');
    });
  }

  it('the product\'s own commands are COMMANDS (bin/asynctx.js skips the benchmarks for them)', () => {
    const names = buildProgram().commands.map((c) => c.name());
    assert.deepEqual([...names].sort(), [...COMMANDS].sort());
  });

  it('control: raid check loads the client and compiles and selects the kernels', () => {
    freshCache();
    const r = run('raid', 'check', '-q', ...MEMBERS);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /check: 0 mismatched sectors/);
    assert.notDeepEqual(loaded(r, ENGINES), []);
    assert.ok(r.wasmCompiles > 0);
    assert.equal(existsSync(cacheFile()), true);
  });
});
