/**
 * The kernel module itself (stateless: no globals, data segments, start
 * function, table; one import, the memory), its loader, and the start-up
 * selection (budget, the choice table, ASYNCTX_KERNELS).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  KERNEL_OPS,
  composeKernels,
  instantiateKernels,
  kernelCandidates,
  scalarKernels,
  selectKernels,
  simdSupported,
  WASM_VARIANTS,
  wasmKernels,
  wasmKernelVariants,
  type KernelOp,
  type KernelSet,
} from '../../src/kernels/index.js';
import { kernelModuleUrl } from '../../src/kernels/wasm_module.js';
import { createWasmKernelSet } from '../../src/kernels/wasm.js';
import { ArenaConfigError } from '../../src/mem/index.js';
import { repoRoot } from '../helpers.js';

/** Section ids of a WebAssembly binary, read from the binary format (LEB128 sizes). */
function sectionIds(bytes: Uint8Array): number[] {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], 'wasm magic and version 1');
  const ids: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at++];
    let size = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[at++];
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    ids.push(id);
    at += size;
  }
  assert.equal(at, bytes.length, 'sections end at the end of the file');
  return ids;
}

/** The limits byte of the one memory import: 0x03 = shared with a maximum, 0x01 = maximum only. */
function memoryImportFlags(bytes: Uint8Array): number {
  const name = Buffer.from('memory');
  const i = Buffer.from(bytes).indexOf(name);
  assert.ok(i > 0, 'imports a memory');
  assert.equal(bytes[i + name.length], 0x02, 'import kind: memory');
  return bytes[i + name.length + 1];
}

const EXPORTS = [
  'equal', 'gen_syndrome', 'is_zero', 'memcpy', 'memset', 'mul_acc', 'mul_const', 'pq_check',
  'recov_2data', 'recov_datap', 'xor', 'xor_syndrome', 'xor_zero',
  // the variants' stand-ins (wasm_variants.ts)
  'gen_syndrome_l2', 'gen_syndrome_m16', 'gen_syndrome_sra', 'pq_check_l2', 'pq_check_m16', 'pq_check_sra',
  'xor_grouped', 'xor_l2', 'xor_l8', 'xor_pairs', 'xor_syndrome_l2', 'xor_syndrome_m16', 'xor_syndrome_sra',
].sort();
const GLOBAL = 6;
const START = 8;
const ELEMENT = 9;
const DATA = 11;
const DATA_COUNT = 12;
const TABLE = 4;

describe('kernel module', () => {
  for (const shared of [true, false]) {
    for (const build of ['release', 'debug'] as const) {
      it(`${shared ? 'shared' : 'private'} ${build} build has no state and imports only its memory`, () => {
        const bytes = readFileSync(kernelModuleUrl(shared, build));
        const ids = sectionIds(bytes);
        for (const [id, what] of [[GLOBAL, 'global'], [START, 'start'], [DATA, 'data'], [DATA_COUNT, 'data count'], [TABLE, 'table'], [ELEMENT, 'element']] as const) {
          assert.ok(!ids.includes(id), `no ${what} section`);
        }
        const mod = new WebAssembly.Module(bytes);
        assert.deepEqual(WebAssembly.Module.imports(mod), [{ module: 'env', name: 'memory', kind: 'memory' }]);
        const exports = WebAssembly.Module.exports(mod);
        assert.deepEqual(exports.map((e) => e.name).sort(), EXPORTS);
        assert.ok(exports.every((e) => e.kind === 'function'));
        assert.equal(memoryImportFlags(bytes), shared ? 0x03 : 0x01);
      });
    }
  }

  it('the generated text declares no global, data, start or table', () => {
    for (const name of ['asynctx.wat', 'asynctx.debug.wat']) {
      const wat = readFileSync(`${repoRoot}dist/kernels/${name}`, 'utf8');
      assert.match(wat, /\(import "env" "memory" \(memory \$0 1 65536 shared\)\)/);
      assert.doesNotMatch(wat, /^\s*\((global|data|start|table|elem)\b/m, name);
      assert.match(wat, /i8x16\.swizzle/, 'multiplies with nibble tables');
    }
  });

  it('runs on any memory, shared or not, and refuses to take a non-arena memory as an arena', () => {
    assert.equal(simdSupported(), true);
    const plain = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const k = instantiateKernels(plain);
    const u8 = new Uint8Array(plain.buffer);
    u8.fill(7, 1024, 1024 + 100);
    k.memset(2048, 0, 100);
    assert.equal(k.is_zero(2048, 100), 1);
    assert.equal(k.is_zero(1024, 100), 0);
    const shared = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
    assert.throws(() => createWasmKernelSet(shared, { offset: 65536, bytes: 1 << 20 }), ArenaConfigError);
  });
});

/** A kernel set whose every op records its name into `log`, for composition tests. */
function recorder(name: string, log: string[]): KernelSet {
  const set: Record<string, unknown> = { name };
  for (const op of KERNEL_OPS) {
    set[op] = () => {
      log.push(`${name}.${op}`);
      return op === 'pqCheck' ? 0 : true;
    };
  }
  return set as unknown as KernelSet;
}

describe('kernel selection', () => {
  it('measures every op of every candidate and keeps the preferred one unless another is 10 % faster', () => {
    const wasm = wasmKernels();
    assert.ok(wasm !== null);
    const sel = selectKernels([wasm, scalarKernels], 30);
    assert.deepEqual(sel.table.map((c) => c.op), [...KERNEL_OPS]);
    for (const c of sel.table) {
      assert.deepEqual(Object.keys(c.mbps).sort(), ['scalar', 'wasm-simd']);
      // The preferred (first) candidate keeps the op unless another measured 10 % faster.
      const expect = c.mbps.scalar > c.mbps['wasm-simd'] * 1.1 ? 'scalar' : 'wasm-simd';
      assert.equal(c.impl, expect, `${c.op}: ${JSON.stringify(c.mbps)}`);
    }
  });

  it('measures a variant only for the ops where it differs; it replaces the default only 10 % faster', () => {
    const wasm = wasmKernels();
    assert.ok(wasm !== null);
    const variants = wasmKernelVariants();
    const candidates = [wasm, ...variants, scalarKernels];
    const sel = selectKernels(candidates, 30);
    for (const c of sel.table) {
      const measured = candidates.filter((k) => k.variantOps === undefined || k.variantOps.includes(c.op)).map((k) => k.name);
      assert.deepEqual(Object.keys(c.mbps).sort(), [...measured].sort(), c.op);
      let expect = measured[0];
      for (const name of measured) if (c.mbps[name] > c.mbps[expect] * 1.1) expect = name;
      assert.equal(c.impl, expect, `${c.op}: ${JSON.stringify(c.mbps)}`);
    }
    for (const op of ['xor', 'genSyndrome', 'xorSyndrome', 'pqCheck'] as const) {
      assert.ok(Object.keys(sel.table.find((c) => c.op === op)!.mbps).some((n) => n.startsWith('wasm-simd/')), `${op} has variants`);
    }
  });

  it('composes a choice naming variants from the default set alone, as a worker does', () => {
    const wasm = wasmKernels();
    assert.ok(wasm !== null);
    const choice = Object.fromEntries(KERNEL_OPS.map((op) => [op, 'wasm-simd'])) as Record<KernelOp, string>;
    for (const v of WASM_VARIANTS) {
      const name = `wasm-simd/${v.name}`;
      const set: KernelSet | null | undefined = wasm.variant?.(name);
      assert.ok(set, name);
      assert.equal(set.name, name);
      assert.deepEqual(set.variantOps, v.ops);
      assert.equal(set.variant?.(name), null, 'a variant has no variants of its own');
      const k = composeKernels({ ...choice, [v.ops[0]]: name }, [scalarKernels, wasm]);
      const a = Uint8Array.from({ length: 100 }, (_, i) => i * 7);
      const b = Uint8Array.from({ length: 100 }, (_, i) => 255 - i);
      const dest = new Uint8Array(100);
      k.xor(dest, [a, b]);
      assert.ok(dest.every((x, i) => x === (a[i] ^ b[i])));
    }
    assert.equal(wasm.variant?.('wasm-simd/nope'), null);
    assert.throws(() => composeKernels({ ...choice, xor: 'wasm-simd/nope' }, [scalarKernels, wasm]), RangeError);
    assert.throws(() => composeKernels({ ...choice, xor: 'wasm-simd/xor128' }, [scalarKernels]), RangeError);
  });

  it('with one candidate measures nothing', () => {
    const sel = selectKernels([scalarKernels]);
    assert.equal(sel.kernels.name, 'scalar');
    assert.ok(sel.table.every((c) => c.impl === 'scalar' && Object.keys(c.mbps).length === 0));
  });

  it('composes a set op by op from the chosen implementations', () => {
    const log: string[] = [];
    const choice = Object.fromEntries(KERNEL_OPS.map((op, i) => [op, i % 2 ? 'b' : 'a'])) as Record<KernelOp, string>;
    const k = composeKernels(choice, [recorder('a', log), recorder('b', log)]);
    assert.equal(k.name, 'auto');
    k.memcpy(new Uint8Array(1), new Uint8Array(1));
    k.memset(new Uint8Array(1), 0);
    k.xor(new Uint8Array(1), [new Uint8Array(1)]);
    assert.deepEqual(log, ['a.memcpy', 'b.memset', 'a.xor']);
    assert.throws(() => composeKernels({ ...choice, xor: 'c' }, [recorder('a', log)]), RangeError);
  });

  it('ASYNCTX_KERNELS picks the candidates, and says so when it cannot be met', () => {
    const fake = recorder('wasm-simd', []);
    const names = (r: { candidates: KernelSet[] }) => r.candidates.map((k) => k.name);
    assert.deepEqual(names(kernelCandidates('scalar', () => fake)), ['scalar']);
    assert.deepEqual(names(kernelCandidates('wasm', () => fake)), ['wasm-simd']);
    assert.deepEqual(names(kernelCandidates(undefined, () => fake)), ['wasm-simd', 'scalar']);
    assert.deepEqual(names(kernelCandidates('auto', () => fake)), ['wasm-simd', 'scalar']);
    // The real set offers its variants: candidates after it, before the scalar reference; `wasm` is the default alone.
    const all = ['wasm-simd', ...WASM_VARIANTS.map((v) => `wasm-simd/${v.name}`), 'scalar'];
    assert.deepEqual(names(kernelCandidates(undefined, wasmKernels)), all);
    assert.deepEqual(names(kernelCandidates('xor:scalar', wasmKernels)), all);
    assert.deepEqual(names(kernelCandidates('wasm', wasmKernels)), ['wasm-simd']);
    const missing = kernelCandidates('wasm', () => null);
    assert.deepEqual(names(missing), ['scalar']);
    assert.match(missing.warning ?? '', /unavailable/);
    // No SIMD: the scalar fallback, without a warning unless one was asked for.
    const noSimd = kernelCandidates(undefined, () => null);
    assert.deepEqual(names(noSimd), ['scalar']);
    assert.equal(noSimd.warning, undefined);
    assert.match(kernelCandidates('fast', () => fake).warning ?? '', /not one of/);
  });

  it('activeKernels() follows ASYNCTX_KERNELS in a fresh process', () => {
    const script =
      "import('./dist/src/kernels/index.js').then((m) => { const k = m.activeKernels(); " +
      "console.log(JSON.stringify({ name: k.name, impls: [...new Set(m.kernels().map((c) => c.impl))] })); })";
    const run = (value: string) => {
      const r = spawnSync(process.execPath, ['-e', script], { cwd: repoRoot, env: { ...process.env, ASYNCTX_KERNELS: value }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { name: string; impls: string[] };
    };
    assert.deepEqual(run('scalar'), { name: 'scalar', impls: ['scalar'] });
    assert.deepEqual(run('wasm'), { name: 'wasm-simd', impls: ['wasm-simd'] });
    const auto = run('');
    assert.ok(auto.impls.includes('wasm-simd'), 'wasm chosen for some ops by default');
  });

  it('worker engines run the variants the main thread chose', () => {
    const index = JSON.stringify(new URL('../../src/index.js', import.meta.url).href);
    const script = `
      const a = await import(${index});
      const { scalarKernels } = await import('./dist/src/kernels/index.js');
      const c = a.createClient({ workers: 1, policy: 'offload' });
      const len = 65536 + 17;
      const src = Array.from({ length: 6 }, (_, i) => c.allocBlock(len).map((_, j) => (j * 31 + i * 7) & 0xff));
      const [x, p, q, ex, ep, eq] = Array.from({ length: 6 }, () => c.allocBlock(len));
      await c.waitForAsyncTx(c.asyncXor(x, src, 0, len, { flags: a.TxFlags.XorZeroDst }));
      await c.waitForAsyncTx(c.asyncGenSyndrome([...src, p, q], 0, len));
      scalarKernels.xor(ex, src);
      scalarKernels.genSyndrome(src, ep, eq);
      const same = (u, v) => u.every((b, i) => b === v[i]);
      const offloaded = Object.values(c.stats().ops).reduce((n, o) => n + o.offloaded, 0);
      console.log(JSON.stringify({ ok: same(x, ex) && same(p, ep) && same(q, eq), offloaded, impls: a.kernels().filter((k) => k.op === 'xor' || k.op === 'genSyndrome').map((k) => k.impl) }));
      await c.close();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: { ...process.env, ASYNCTX_KERNELS: 'xor:wasm-simd/xor-group4,genSyndrome:wasm-simd/pq-mul16' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, offloaded: 2, impls: ['wasm-simd/xor-group4', 'wasm-simd/pq-mul16'] });
  });
});
