/**
 * The variants of the WebAssembly SIMD kernels: the same module, other
 * exports for a few ops, each a candidate of the start-up selection beside
 * the default ("wasm-simd") under the name "wasm-simd/<variant>". Every
 * variant gives the scalar reference's bytes (test/kernels/simd.test.ts runs
 * each); which is fastest depends on the CPU, so none is chosen by design.
 *
 * xor (default: four 16-byte lanes, 64 bytes a step, every source per step):
 *   xor32      two lanes (32 bytes a step);
 *   xor128     eight lanes (128 bytes a step);
 *   xor-pairs  four lanes, sources two at a time (s ⊕ t, then into the lane);
 *   xor-group4 four sources per pass over 1 KiB chunks, dst holding the sum.
 * P+Q (default: four lanes, each its own Q chain, {02}· by compare/and/xor):
 *   pq32       two lanes;
 *   pq-sra     the fold mask by an arithmetic byte shift instead of a compare;
 *   pq-mul16   the fold by a 16-bit shift, mask and multiply by 0x1d.
 * Changing this list changes the names a remembered selection holds: bump
 * CACHE_FORMAT in selection_cache.ts with it.
 */
import type { KernelOp } from './types.js';
import type { KernelExports } from './wasm_module.js';

export interface WasmVariant {
  /** The name after "wasm-simd/". */
  readonly name: string;
  /** The ops where it differs from the default. */
  readonly ops: readonly KernelOp[];
  /** Which export stands in for which. */
  readonly exports: Readonly<Partial<Record<keyof KernelExports, keyof KernelExports>>>;
}

const PQ_OPS: readonly KernelOp[] = ['genSyndrome', 'xorSyndrome', 'pqCheck'];

const pq = (suffix: string): WasmVariant['exports'] => ({
  gen_syndrome: `gen_syndrome_${suffix}` as keyof KernelExports,
  xor_syndrome: `xor_syndrome_${suffix}` as keyof KernelExports,
  pq_check: `pq_check_${suffix}` as keyof KernelExports,
});

export const WASM_VARIANTS: readonly WasmVariant[] = [
  { name: 'xor32', ops: ['xor'], exports: { xor: 'xor_l2' } },
  { name: 'xor128', ops: ['xor'], exports: { xor: 'xor_l8' } },
  { name: 'xor-pairs', ops: ['xor'], exports: { xor: 'xor_pairs' } },
  { name: 'xor-group4', ops: ['xor'], exports: { xor: 'xor_grouped' } },
  { name: 'pq32', ops: PQ_OPS, exports: pq('l2') },
  { name: 'pq-sra', ops: PQ_OPS, exports: pq('sra') },
  { name: 'pq-mul16', ops: PQ_OPS, exports: pq('m16') },
];

/** The module's exports with the variant's stand-ins in place of the defaults. */
export function variantExports(k: KernelExports, v: WasmVariant): KernelExports {
  const out: Record<string, unknown> = { ...k };
  for (const [name, standIn] of Object.entries(v.exports)) out[name] = k[standIn as keyof KernelExports];
  return out as unknown as KernelExports;
}
