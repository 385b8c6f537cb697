/**
 * Compiling and instantiating the AssemblyScript kernel module (built by
 * scripts/build_kernels.mjs into dist/kernels). The module is compiled once per
 * thread and instantiated on a given memory; it imports that memory and
 * nothing else, and keeps no state, so any number of instances (one per
 * thread, or a shared and a private one) may run on the same bytes.
 *
 * The ABI: every argument is an i32; addresses are byte offsets into the
 * memory; an N-source op takes a pointer list (u32 offsets, 0 = null slot);
 * a GF constant is the offset of its 32-byte nibble tables; `tmp` is 4 KiB
 * the kernel may scribble on (syndrome accumulators); `len` is any byte
 * count (no alignment).
 */
import { readFileSync } from 'node:fs';

export interface KernelExports {
  xor(dst: number, ptrs: number, n: number, len: number): void;
  xor_zero(ptrs: number, n: number, len: number): number;
  is_zero(src: number, len: number): number;
  equal(a: number, b: number, len: number): number;
  memcpy(dst: number, src: number, len: number): void;
  memset(dst: number, value: number, len: number): void;
  gen_syndrome(ptrs: number, n: number, p: number, q: number, tmp: number, len: number): void;
  xor_syndrome(ptrs: number, start: number, stop: number, p: number, q: number, tmp: number, len: number): void;
  pq_check(ptrs: number, n: number, p: number, q: number, tmp: number, len: number): number;
  mul_const(dst: number, src: number, tbl: number, len: number): void;
  mul_acc(dst: number, src: number, tbl: number, len: number): void;
  recov_2data(
    ptrs: number, n: number, p: number, q: number, da: number, db: number, ptbl: number, qtbl: number, tmp: number, len: number,
  ): void;
  recov_datap(ptrs: number, n: number, p: number, q: number, da: number, tbl: number, tmp: number, len: number): void;
  // Variants of xor, gen_syndrome, xor_syndrome and pq_check (same arguments, same bytes): wasm_variants.ts.
  xor_l2: KernelExports['xor'];
  xor_l8: KernelExports['xor'];
  xor_pairs: KernelExports['xor'];
  xor_grouped: KernelExports['xor'];
  gen_syndrome_l2: KernelExports['gen_syndrome'];
  gen_syndrome_sra: KernelExports['gen_syndrome'];
  gen_syndrome_m16: KernelExports['gen_syndrome'];
  xor_syndrome_l2: KernelExports['xor_syndrome'];
  xor_syndrome_sra: KernelExports['xor_syndrome'];
  xor_syndrome_m16: KernelExports['xor_syndrome'];
  pq_check_l2: KernelExports['pq_check'];
  pq_check_sra: KernelExports['pq_check'];
  pq_check_m16: KernelExports['pq_check'];
}

const EXPORT_NAMES: readonly (keyof KernelExports)[] = [
  'xor', 'xor_zero', 'is_zero', 'equal', 'memcpy', 'memset', 'gen_syndrome', 'xor_syndrome', 'pq_check',
  'mul_const', 'mul_acc', 'recov_2data', 'recov_datap',
  'xor_l2', 'xor_l8', 'xor_pairs', 'xor_grouped', 'gen_syndrome_l2', 'gen_syndrome_sra', 'gen_syndrome_m16',
  'xor_syndrome_l2', 'xor_syndrome_sra', 'xor_syndrome_m16', 'pq_check_l2', 'pq_check_sra', 'pq_check_m16',
];

/** release: optimized; debug: unoptimized, with names and a source map. */
export type KernelBuild = 'release' | 'debug';

/** A module with one function returning a v128 constant: valid only where WebAssembly SIMD is. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, // code: v128.const
  ...new Array<number>(16).fill(0),
  0x0b, // end
]);

let simd: boolean | undefined;

/** True when this runtime has WebAssembly SIMD and shared memories. */
export function simdSupported(): boolean {
  if (simd === undefined) {
    try {
      simd =
        typeof WebAssembly === 'object' &&
        WebAssembly.validate(SIMD_PROBE) &&
        new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
    } catch {
      simd = false;
    }
  }
  return simd;
}

/** The file of one build of one memory variant. */
export function kernelModuleUrl(shared: boolean, build: KernelBuild = 'release'): URL {
  const name = `asynctx${shared ? '' : '.private'}${build === 'debug' ? '.debug' : ''}.wasm`;
  // dist/src/kernels/wasm_module.js → dist/kernels/<name>
  return new URL(`../../kernels/${name}`, import.meta.url);
}

const modules = new Map<string, WebAssembly.Module>();

/**
 * The compiled module (cached per thread): the shared-memory variant for
 * arenas, the private one for a plain memory.
 * @throws Error when the file is missing (not built) or does not compile.
 */
export function kernelModule(shared: boolean, build: KernelBuild = 'release'): WebAssembly.Module {
  const key = `${shared}:${build}`;
  let mod = modules.get(key);
  if (mod === undefined) {
    const url = kernelModuleUrl(shared, build);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(url);
    } catch (err) {
      throw new Error(`asynctx kernels not built (${url.pathname}: ${(err as Error).message}); run npm run build`);
    }
    mod = new WebAssembly.Module(bytes);
    modules.set(key, mod);
  }
  return mod;
}

/**
 * Instantiates the kernels on `memory` (shared or not: the matching variant is
 * chosen). Used by the main thread and by worker threads on the same arena.
 */
export function instantiateKernels(memory: WebAssembly.Memory, build: KernelBuild = 'release'): KernelExports {
  const shared = memory.buffer instanceof SharedArrayBuffer;
  const instance = new WebAssembly.Instance(kernelModule(shared, build), { env: { memory } });
  const exports = instance.exports;
  for (const name of EXPORT_NAMES) {
    if (typeof exports[name] !== 'function') throw new Error(`asynctx kernels: export ${name} missing`);
  }
  return exports as unknown as KernelExports;
}
