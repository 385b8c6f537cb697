/**
 * The remembered kernel selection: missing, stale, corrupt and unwritable
 * cache files, the pin, and verification on load. Selection is a per-process
 * singleton, so each case runs in a child process with its own XDG_CACHE_HOME.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KERNEL_OPS, scalarKernels, wasmKernels, type KernelSet } from '../../src/kernels/index.js';
import { CACHE_FORMAT, cachePath, currentKey, loadCachedTable, verifiedKernels } from '../../src/kernels/selection_cache.js';

const INDEX = fileURLToPath(new URL('../../src/kernels/index.js', import.meta.url));
const ENTRY = new URL('../../src/index.js', import.meta.url).href;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempHome(): string {
  const d = mkdtempSync(join(tmpdir(), 'asynctx-kcache-'));
  dirs.push(d);
  return d;
}

interface Child { table: { op: string; impl: string }[]; stderr: string }

/** Selects in a fresh process with XDG_CACHE_HOME = home; returns its choice table. */
function select(home: string, extra: Record<string, string> = {}): Child {
  const env: Record<string, string | undefined> = { ...process.env, XDG_CACHE_HOME: home, ...extra };
  delete env.ASYNCTX_KERNEL_CACHE;
  if (extra.ASYNCTX_KERNEL_CACHE !== undefined) env.ASYNCTX_KERNEL_CACHE = extra.ASYNCTX_KERNEL_CACHE;
  if (extra.ASYNCTX_KERNELS === undefined) delete env.ASYNCTX_KERNELS;
  const code = `const k = await import(${JSON.stringify(INDEX)}); console.log(JSON.stringify(k.kernels()));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { table: JSON.parse(r.stdout) as Child['table'], stderr: r.stderr };
}

const file = (home: string): string => join(home, 'asynctx', 'kernels.json');

/** A cache file for the current key with `marker` set: a hit leaves it byte for byte; a re-selection rewrites it. */
function plant(home: string, patch: Record<string, unknown> = {}, impl = (_op: string) => 'scalar'): string {
  mkdirSync(join(home, 'asynctx'), { recursive: true });
  const table = KERNEL_OPS.map((op) => ({ op, impl: impl(op), mbps: {} }));
  const text = JSON.stringify({ ...currentKey(), table, marker: 'planted', ...patch });
  writeFileSync(file(home), text);
  return text;
}

const hasWasm = wasmKernels() !== null;

describe('kernel selection cache', () => {
  it('is written when missing, and a matching valid file is used as it is', () => {
    const home = tempHome();
    const first = select(home);
    const written = JSON.parse(readFileSync(file(home), 'utf8')) as Record<string, unknown>;
    assert.deepEqual({ ...currentKey() }, { format: written.format, cpu: written.cpu, build: written.build, node: written.node });
    assert.deepEqual(loadCachedTable(file(home), currentKey())?.map((c) => c.impl), first.table.map((c) => c.impl));
    const planted = plant(home);
    const second = select(home);
    assert.equal(readFileSync(file(home), 'utf8'), planted, 'a valid cache must not be rewritten');
    assert.ok(second.table.every((c) => c.impl === 'scalar'), 'the cached choice is the one used');
  });

  for (const [what, patch] of [
    ['another format version', { format: 999 }],
    ['another CPU', { cpu: 'Some Other CPU flags:0000' }],
    ['another kernel build', { build: 'feedface' }],
    ['another node', { node: 'v0.0.1' }],
  ] as const) {
    it(`is re-selected and rewritten when stale (${what})`, () => {
      const home = tempHome();
      plant(home, patch);
      select(home);
      const now = JSON.parse(readFileSync(file(home), 'utf8')) as Record<string, unknown>;
      assert.equal(now.marker, undefined, 'rewritten');
      assert.deepEqual([now.format, now.cpu, now.build, now.node], Object.values(currentKey()));
    });
  }

  it('is re-selected without a throw when the JSON is corrupt', () => {
    const home = tempHome();
    mkdirSync(join(home, 'asynctx'));
    writeFileSync(file(home), '{"format": 1, "tab');
    select(home);
    assert.notEqual(loadCachedTable(file(home), currentKey()), null);
  });

  it('is re-selected when a cached variant does not exist', () => {
    const home = tempHome();
    plant(home, {}, (op) => (op === 'xor' ? 'no-such-kernels' : 'scalar'));
    const r = select(home);
    assert.notEqual(r.table.find((c) => c.op === 'xor')?.impl, 'no-such-kernels');
    assert.equal(JSON.parse(readFileSync(file(home), 'utf8')).marker, undefined);
  });

  it('selects as usual, without a throw, where the directory cannot be written', () => {
    const blocker = join(tempHome(), 'not-a-dir');
    writeFileSync(blocker, 'x');
    assert.equal(select(blocker).table.length, KERNEL_OPS.length);
    const ro = tempHome();
    chmodSync(ro, 0o555);
    assert.equal(select(ro).table.length, KERNEL_OPS.length);
    chmodSync(ro, 0o755);
  });

  it("import('asynctx') and a first operation write nothing but the cache file", () => {
    const home = tempHome();
    const env: Record<string, string | undefined> = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, 'cache'), TMPDIR: join(home, 'tmp') };
    delete env.ASYNCTX_KERNEL_CACHE;
    delete env.ASYNCTX_KERNELS;
    mkdirSync(join(home, 'tmp'));
    const code = `const a = await import(${JSON.stringify(ENTRY)}); const d = a.allocBlock(4096); a.asyncXor(d, [a.allocBlock(4096), a.allocBlock(4096)], 0, 4096);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: home, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(home, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath ?? e.path, e.name));
    assert.deepEqual(files, [file(join(home, 'cache'))]);
  });

  it('is neither read nor written with ASYNCTX_KERNEL_CACHE=0', () => {
    const home = tempHome();
    select(home, { ASYNCTX_KERNEL_CACHE: '0' });
    assert.equal(existsSync(file(home)), false);
    assert.equal(cachePath({ ASYNCTX_KERNEL_CACHE: '0' }), null);
    assert.equal(cachePath({ XDG_CACHE_HOME: '/x' }), join('/x', 'asynctx', 'kernels.json'));
  });

  it('honours an ASYNCTX_KERNELS=op:variant pin, writing no cache', () => {
    if (!hasWasm) return void console.log('wasm-simd unavailable here: pin test needs two variants');
    const home = tempHome();
    const r = select(home, { ASYNCTX_KERNELS: 'xor:scalar,memcpy:scalar' });
    for (const c of r.table) assert.equal(c.impl, c.op === 'xor' || c.op === 'memcpy' ? 'scalar' : 'wasm-simd', c.op);
    assert.equal(existsSync(file(home)), false);
    const bad = select(home, { ASYNCTX_KERNELS: 'xor:nope' });
    assert.match(bad.stderr, /not op:variant/);
    const variant = select(home, { ASYNCTX_KERNELS: 'xor:wasm-simd/xor128,pqCheck:wasm-simd/pq32' });
    for (const c of variant.table) assert.equal(c.impl, c.op === 'xor' ? 'wasm-simd/xor128' : c.op === 'pqCheck' ? 'wasm-simd/pq32' : 'wasm-simd', c.op);
    // A variant is a candidate only for the ops where it differs.
    assert.match(select(home, { ASYNCTX_KERNELS: 'genSyndrome:wasm-simd/xor128' }).stderr, /not op:variant/);
  });

  it('uses a remembered choice of variants after verifying them, and takes an older format\'s file for stale', () => {
    if (!hasWasm) return void console.log('wasm-simd unavailable here: no variants');
    const home = tempHome();
    const impl = (op: string) => (op === 'xor' ? 'wasm-simd/xor-pairs' : op === 'genSyndrome' ? 'wasm-simd/pq-sra' : 'wasm-simd');
    const planted = plant(home, {}, impl);
    assert.deepEqual(select(home).table.map((c) => c.impl), KERNEL_OPS.map(impl));
    assert.equal(readFileSync(file(home), 'utf8'), planted);
    plant(home, { format: CACHE_FORMAT - 1 }, impl);
    select(home);
    assert.equal((JSON.parse(readFileSync(file(home), 'utf8')) as { format: number }).format, CACHE_FORMAT);
  });

  it('refuses on load a cached variant that gives the wrong bytes', () => {
    const broken: KernelSet = { ...scalarKernels, name: 'broken', xor: (dest, srcs) => { scalarKernels.xor(dest, srcs); dest[5] ^= 1; } };
    const table = (impl: string) => KERNEL_OPS.map((op) => ({ op, impl: op === 'xor' ? impl : 'scalar', mbps: {} }));
    assert.equal(verifiedKernels(table('broken'), [broken, scalarKernels]), null);
    assert.notEqual(verifiedKernels(table('scalar'), [broken, scalarKernels]), null);
    const w = wasmKernels();
    if (w !== null) assert.notEqual(verifiedKernels(KERNEL_OPS.map((op) => ({ op, impl: w.name, mbps: {} })), [w, scalarKernels]), null);
  });
});
