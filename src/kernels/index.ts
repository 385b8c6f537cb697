/**
 * The kernels the library runs. `activeKernels()` is what the synchronous path
 * and every engine call: on first use it picks, per operation, the fastest of
 * the WebAssembly SIMD set and the scalar reference (select.ts).
 * ASYNCTX_KERNELS=scalar|wasm forces one set (wasm-debug: the unoptimized build).
 */
import { scalarKernels } from './scalar.js';
import { selectKernels, type KernelChoice, type Selection } from './select.js';
import type { KernelSet } from './types.js';
import type { KernelBuild } from './wasm-module.js';
import { wasmKernels, wasmKernelsError } from './wasm.js';

export type { Block, KernelSet, Slot } from './types.js';
export { scalarKernels } from './scalar.js';
export { KERNEL_OPS, composeKernels, selectKernels, type KernelChoice, type KernelOp, type Selection } from './select.js';
export { createWasmKernelSet, MIN_SCRATCH_BYTES, wasmKernels, wasmKernelsError } from './wasm.js';
export { instantiateKernels, simdSupported, type KernelBuild, type KernelExports } from './wasm-module.js';

/**
 * The candidate kernel sets for an ASYNCTX_KERNELS value in order of
 * preference (wasm-simd, then the scalar reference), and a warning when the
 * request cannot be met or is not understood.
 */
export function kernelCandidates(
  request: string | undefined,
  wasm: (build: KernelBuild) => KernelSet | null,
): { candidates: KernelSet[]; warning?: string } {
  const mode = (request ?? '').trim().toLowerCase();
  if (mode === 'scalar') return { candidates: [scalarKernels] };
  if (mode === 'wasm' || mode === 'wasm-debug') {
    const w = wasm(mode === 'wasm' ? 'release' : 'debug');
    if (w !== null) return { candidates: [w] };
    return {
      candidates: [scalarKernels],
      warning: `ASYNCTX_KERNELS=${mode}: WebAssembly SIMD kernels are unavailable here (${wasmKernelsError() ?? 'unknown reason'}); using the scalar kernels`,
    };
  }
  const w = wasm('release');
  const candidates = w === null ? [scalarKernels] : [w, scalarKernels];
  if (mode === '' || mode === 'auto') return { candidates };
  return { candidates, warning: `ASYNCTX_KERNELS=${request} is not one of scalar, wasm, wasm-debug, auto; choosing automatically` };
}

let selection: Selection | undefined;

function selected(): Selection {
  if (selection === undefined) {
    const { candidates, warning } = kernelCandidates(process.env.ASYNCTX_KERNELS, wasmKernels);
    if (warning !== undefined) process.emitWarning(warning, { code: 'ASYNCTX_KERNELS' });
    selection = selectKernels(candidates);
  }
  return selection;
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

/** How long the start-up selection took, in milliseconds (selects first if needed). */
export function kernelSelectionMs(): number {
  return selected().ms;
}
