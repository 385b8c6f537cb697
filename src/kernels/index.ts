/**
 * The kernels the library runs. `activeKernels()` is what the synchronous path
 * and every engine call: on first use it picks, per operation, the fastest of
 * the WebAssembly SIMD set and the scalar reference (select.ts).
 * The WebAssembly candidates are the default set and its variants
 * (wasm_variants.ts), each measured only for the ops where it differs.
 * ASYNCTX_KERNELS=scalar|wasm forces one set (wasm-debug: the unoptimized build);
 * ASYNCTX_KERNELS=op:impl,... pins those ops (impl: scalar, wasm-simd or a
 * variant of it for that op, such as xor:wasm-simd/xor128; the others take
 * the preferred candidate) and measures nothing. An automatic selection is remembered in the
 * user's cache directory (selection_cache.ts; ASYNCTX_KERNEL_CACHE=0 disables).
 */
import { scalarKernels } from './scalar.js';
import { KERNEL_OPS, candidateFor, composeKernels, selectKernels, type KernelChoice, type KernelOp, type Selection } from './select.js';
import type { KernelSet } from './types.js';
import type { KernelBuild } from './wasm_module.js';
import { wasmKernels, wasmKernelsError } from './wasm.js';
import { WASM_VARIANTS } from './wasm_variants.js';
import { cachePath, currentKey, loadCachedTable, saveCachedTable, verifiedKernels } from './selection_cache.js';

export type { Block, KernelSet, Slot } from './types.js';
export { scalarKernels } from './scalar.js';
export { KERNEL_OPS, composeKernels, selectKernels, type KernelChoice, type KernelOp, type Selection } from './select.js';
export { createWasmKernelSet, MIN_SCRATCH_BYTES, wasmKernels, wasmKernelVariants, wasmKernelsError } from './wasm.js';
export { WASM_VARIANTS, type WasmVariant } from './wasm_variants.js';
export { instantiateKernels, simdSupported, type KernelBuild, type KernelExports } from './wasm_module.js';

export { CACHE_FORMAT, cachePath } from './selection_cache.js';

/**
 * The selection an `op:variant,...` ASYNCTX_KERNELS value pins: named ops use
 * the named candidate, the others the first (preferred) one. Null (with a
 * warning) when an op or variant is unknown.
 */
export function pinnedSelection(request: string, candidates: readonly KernelSet[]): { selection: Selection | null; warning?: string } {
  const t0 = performance.now();
  const choice = Object.fromEntries(KERNEL_OPS.map((op) => [op, candidates[0].name])) as Record<KernelOp, string>;
  for (const part of request.split(',')) {
    const [op, impl] = part.split(':').map((x) => x.trim());
    if (!(KERNEL_OPS as readonly string[]).includes(op) || !candidates.some((k) => k.name === impl && candidateFor(k, op as KernelOp))) {
      const names = candidates.map((k) => k.name).join(', ');
      return { selection: null, warning: `ASYNCTX_KERNELS: "${part}" is not op:variant with a variant of ${names}; choosing automatically` };
    }
    choice[op as KernelOp] = impl;
  }
  const table = KERNEL_OPS.map((op) => ({ op, impl: choice[op], mbps: {} }));
  return { selection: { kernels: composeKernels(choice, candidates), table, ms: performance.now() - t0 } };
}

/** The wasm set, its variants (WASM_VARIANTS, those it offers) and the scalar reference, in order of preference. */
function withVariants(w: KernelSet | null): KernelSet[] {
  if (w === null) return [scalarKernels];
  const variants = WASM_VARIANTS.map((v) => w.variant?.(`${w.name}/${v.name}`) ?? null).filter((k): k is KernelSet => k !== null);
  return [w, ...variants, scalarKernels];
}

/**
 * The candidate kernel sets for an ASYNCTX_KERNELS value in order of
 * preference (wasm-simd, its variants, then the scalar reference; `wasm`
 * forces the default wasm-simd set alone), and a warning when the request
 * cannot be met or is not understood.
 */
export function kernelCandidates(
  request: string | undefined,
  wasm: (build: KernelBuild) => KernelSet | null,
): { candidates: KernelSet[]; warning?: string } {
  const mode = (request ?? '').trim().toLowerCase();
  if (mode.includes(':')) return { candidates: withVariants(wasm('release')) };
  if (mode === 'scalar') return { candidates: [scalarKernels] };
  if (mode === 'wasm' || mode === 'wasm-debug') {
    const w = wasm(mode === 'wasm' ? 'release' : 'debug');
    if (w !== null) return { candidates: [w] };
    return {
      candidates: [scalarKernels],
      warning: `ASYNCTX_KERNELS=${mode}: WebAssembly SIMD kernels are unavailable here (${wasmKernelsError() ?? 'unknown reason'}); using the scalar kernels`,
    };
  }
  const candidates = withVariants(wasm('release'));
  if (mode === '' || mode === 'auto') return { candidates };
  return { candidates, warning: `ASYNCTX_KERNELS=${request} is not one of scalar, wasm, wasm-debug, auto; choosing automatically` };
}

let selection: Selection | undefined;

function selected(): Selection {
  if (selection === undefined) {
    const { candidates, warning } = kernelCandidates(process.env.ASYNCTX_KERNELS, wasmKernels);
    if (warning !== undefined) process.emitWarning(warning, { code: 'ASYNCTX_KERNELS' });
    selection = pinned(candidates) ?? cachedOrSelected(candidates);
  }
  return selection;
}

function pinned(candidates: readonly KernelSet[]): Selection | null {
  const request = process.env.ASYNCTX_KERNELS ?? '';
  if (!request.includes(':')) return null;
  const { selection: s, warning } = pinnedSelection(request, candidates);
  if (warning !== undefined) process.emitWarning(warning, { code: 'ASYNCTX_KERNELS' });
  return s;
}

/** The remembered selection when it matches this CPU and build and verifies; else a fresh one, remembered. */
function cachedOrSelected(candidates: readonly KernelSet[]): Selection {
  const path = candidates.length > 1 ? cachePath() : null;
  if (path === null) return selectKernels(candidates);
  const t0 = performance.now();
  const key = currentKey();
  const table = loadCachedTable(path, key);
  const set = table === null ? null : verifiedKernels(table, candidates);
  if (table !== null && set !== null) return { kernels: set, table, ms: performance.now() - t0 };
  const fresh = selectKernels(candidates);
  saveCachedTable(path, key, fresh.table);
  return fresh;
}

/** The kernel set in use on this thread (selected on first call, ≤ ~50 ms; synchronous). */
export function activeKernels(): KernelSet {
  return selected().kernels;
}

/**
 * The choice behind activeKernels(): per operation, the implementation used
 * and each candidate's MB/s as measured at start-up (empty when only one
 * candidate was allowed). Selects first if nothing is selected yet.
 */
export function kernels(): readonly KernelChoice[] {
  return selected().table;
}

/**
 * Runs the full measurement now, whatever is remembered (for `asynctx bench`,
 * which must measure), uses its result from here on and remembers it.
 */
export function reselectKernels(): readonly KernelChoice[] {
  const { candidates } = kernelCandidates(process.env.ASYNCTX_KERNELS, wasmKernels);
  selection = pinned(candidates) ?? selectKernels(candidates);
  const path = candidates.length > 1 ? cachePath() : null;
  if (path !== null && !(process.env.ASYNCTX_KERNELS ?? '').includes(':')) saveCachedTable(path, currentKey(), selection.table);
  return selection.table;
}

/** How long the start-up selection took, in milliseconds (selects first if needed). */
export function kernelSelectionMs(): number {
  return selected().ms;
}
