/**
 * Start-up kernel selection, as Linux lib/raid6 does it: time each valid
 * implementation of each operation briefly and keep the fastest per
 * operation. The result is a composite KernelSet and a table saying who won
 * and by how much.
 */
import { allocBlock, freeBlock } from '../mem/arena.js';
import type { Block, KernelOp, KernelSet, Slot } from './types.js';

export type { KernelOp } from './types.js';

export const KERNEL_OPS: readonly KernelOp[] = [
  'memcpy', 'memset', 'xor', 'xorIsZero', 'genSyndrome', 'xorSyndrome', 'pqCheck',
  'mulConst', 'mulAcc', 'recov2Data', 'recovDataP', 'isZero', 'equal',
];

/** One row of the choice: the implementation used for `op`, and every candidate's measured MB/s (empty when not measured). */
export interface KernelChoice {
  readonly op: KernelOp;
  readonly impl: string;
  readonly mbps: Readonly<Record<string, number>>;
}

export interface Selection {
  readonly kernels: KernelSet;
  readonly table: readonly KernelChoice[];
  /** Milliseconds the measurement took. */
  readonly ms: number;
}

/** Total time budget of a selection, as lib/raid6 keeps its start-up benchmark short. */
export const SELECT_BUDGET_MS = 50;
const BLOCK = 4096;
const COPY = 65536;
/** Passes over the ops. */
const PASSES = 2;
/** Target length of one timed batch of calls, in ms. */
const BATCH_MS = 0.025;
/** How much faster a later candidate must measure to replace an earlier one. */
const MARGIN = 1.1;
const DATA = 4;

/** The candidate named `name`, or the variant of that name of a candidate (name "base/variant"). */
function implNamed(name: string, impls: readonly KernelSet[]): KernelSet | undefined {
  const exact = impls.find((k) => k.name === name);
  if (exact !== undefined) return exact;
  const base = impls.find((k) => name.startsWith(`${k.name}/`) && typeof k.variant === 'function');
  return base?.variant?.(name) ?? undefined;
}

/**
 * A KernelSet whose op `op` is `impls[choice[op]].op`; a choice may name a
 * variant of a set in `impls` ("wasm-simd/xor128" when "wasm-simd" is there).
 * @throws RangeError when a choice names no candidate.
 */
export function composeKernels(choice: Readonly<Record<KernelOp, string>>, impls: readonly KernelSet[]): KernelSet {
  const names = new Set(KERNEL_OPS.map((op) => choice[op]));
  const set: Record<string, unknown> = { name: names.size === 1 ? [...names][0] : 'auto' };
  for (const op of KERNEL_OPS) {
    const impl = implNamed(choice[op], impls);
    if (impl === undefined) throw new RangeError(`composeKernels: no kernel set named ${choice[op]} for ${op}`);
    set[op] = impl[op].bind(impl);
  }
  return set as unknown as KernelSet;
}

/** True when the selection measures `k` for `op`: every op, or for a variant the ops where it differs. */
export function candidateFor(k: KernelSet, op: KernelOp): boolean {
  return k.variantOps === undefined || k.variantOps.includes(op);
}

/** Buffers for one measurement: arena blocks, as the library's fast path uses. */
class Bench {
  readonly blocks: Block[] = [];
  readonly data: Block[];
  readonly p: Block;
  readonly q: Block;
  readonly dest: Block;
  readonly zero: Block;
  /** memcpy/memset move COPY bytes a call: both candidates call native code, so at 4 KiB the
   * JS-to-wasm call, slow until V8 has optimized the caller, would decide the race. */
  readonly copySrc: Block;
  readonly copyDest: Block;

  constructor(ref: KernelSet) {
    const block = (len = BLOCK): Block => {
      const b = allocBlock(len);
      this.blocks.push(b);
      return b;
    };
    this.copySrc = block(COPY);
    this.copyDest = block(COPY);
    this.data = Array.from({ length: DATA }, (_, i) => {
      const b = block();
      for (let j = 0; j < BLOCK; j++) b[j] = (j * 31 + i * 97 + 7) & 0xff;
      return b;
    });
    this.p = block();
    this.q = block();
    this.dest = block();
    this.zero = block();
    this.zero.fill(0);
    ref.genSyndrome(this.data, this.p, this.q);
  }

  /** Runs op once on k; returns the bytes of source data it processed. */
  run(k: KernelSet, op: KernelOp): number {
    const { data, p, q, dest } = this;
    const d: Slot[] = data;
    switch (op) {
      case 'memcpy': k.memcpy(this.copyDest, this.copySrc); return COPY;
      case 'memset': k.memset(this.copyDest, 0x5a); return COPY;
      case 'xor': k.xor(dest, data); return BLOCK * DATA;
      // [d0, d0]: the check must read to the end, as on a clean stripe.
      case 'xorIsZero': k.xorIsZero([data[0], data[0]]); return BLOCK * 2;
      case 'genSyndrome': k.genSyndrome(d, p, q); return BLOCK * DATA;
      case 'xorSyndrome': k.xorSyndrome(d, p, q, 1, 2); k.xorSyndrome(d, p, q, 1, 2); return BLOCK * 4;
      case 'pqCheck': k.pqCheck(d, p, q); return BLOCK * DATA;
      case 'mulConst': k.mulConst(dest, data[0], 0x8e); return BLOCK;
      case 'mulAcc': k.mulAcc(dest, data[0], 0x8e); return BLOCK;
      case 'recov2Data': k.recov2Data(d, p, q, 0, 2); return BLOCK * DATA;
      case 'recovDataP': k.recovDataP(d, p, q, 1); return BLOCK * DATA;
      case 'isZero': k.isZero(this.zero); return BLOCK;
      case 'equal': k.equal(data[1], data[1]); return BLOCK;
    }
  }

  free(): void {
    for (const b of this.blocks) freeBlock(b);
  }
}

/**
 * Runs op on k `calls` times; returns MB/s (0 when the clock did not move) and the time taken.
 * A batch is short (~25 µs): most batches run without losing the core to
 * another process, and the best of many, interleaved with the other
 * candidates' batches, is what the kernel does when it has the core. (No CPU
 * clock helps here: process.cpuUsage counts every thread, and on this kernel
 * a thread's own schedstat runtime stands still between scheduler events, so
 * sub-millisecond slices read as 0 ms.)
 */
function batch(bench: Bench, k: KernelSet, op: KernelOp, calls: number): { mbps: number; ms: number } {
  let bytes = 0;
  const t0 = performance.now();
  for (let c = 0; c < calls; c++) bytes += bench.run(k, op);
  const ms = performance.now() - t0;
  return { mbps: ms > 0 ? bytes / 1e3 / ms : 0, ms };
}

/**
 * Picks the fastest candidate per operation with a benchmark of about
 * `budgetMs` in all. Recovery ops leave the bench stripe as it was, so every
 * candidate sees the same bytes. With one candidate nothing is measured.
 * @param candidates valid kernel sets in order of preference: a later one
 *   replaces an earlier one for an op only when it measured ≥ 10 % faster, so
 *   noise on a busy machine does not flip a choice made by design; a variant
 *   (variantOps) is measured, and may win, only for the ops where it differs,
 *   and the first candidate must be a candidate for every op
 */
export function selectKernels(candidates: readonly KernelSet[], budgetMs = SELECT_BUDGET_MS): Selection {
  const t0 = performance.now();
  const choice = {} as Record<KernelOp, string>;
  const table: KernelChoice[] = [];
  if (candidates.length === 1) {
    for (const op of KERNEL_OPS) {
      choice[op] = candidates[0].name;
      table.push({ op, impl: candidates[0].name, mbps: {} });
    }
    return { kernels: composeKernels(choice, candidates), table, ms: performance.now() - t0 };
  }
  const bench = new Bench(candidates[0]);
  const best = new Map<string, number>();
  try {
    // One untimed call of everything first: page faults, lazy compilation, inline caches.
    for (const op of KERNEL_OPS) for (const k of candidates) if (candidateFor(k, op)) bench.run(k, op);
    const calls = new Map<string, number>();
    // Then two passes over the ops, each op getting an equal share of the time left in
    // each, its candidates' batches alternating (at least twice each, so a busy machine
    // overruns rather than guesses). Two passes, because V8 compiles in the background
    // for the first milliseconds: a slow stretch hits one pass of an op, not both.
    const deadline = t0 + budgetMs;
    const slots = PASSES * KERNEL_OPS.length;
    for (let i = 0; i < slots; i++) {
      const op = KERNEL_OPS[i % KERNEL_OPS.length];
      const end = performance.now() + (deadline - performance.now()) / (slots - i);
      for (let round = 0; round < 2 || performance.now() < end; round++) {
        for (const k of candidates) {
          if (!candidateFor(k, op)) continue;
          const key = `${op}:${k.name}`;
          const n = calls.get(key) ?? 1;
          const b = batch(bench, k, op, n);
          best.set(key, Math.max(best.get(key) ?? 0, b.mbps));
          // Batches grow until they last BATCH_MS, so the clock's own cost stays small.
          if (b.ms < BATCH_MS && n < 4096) calls.set(key, n * 2);
        }
      }
    }
  } finally {
    bench.free();
  }
  for (const op of KERNEL_OPS) {
    const mbps: Record<string, number> = {};
    let winner = candidates[0].name;
    for (const k of candidates) {
      if (!candidateFor(k, op)) continue;
      mbps[k.name] = Math.round(best.get(`${op}:${k.name}`) ?? 0);
      if (mbps[k.name] > mbps[winner] * MARGIN) winner = k.name;
    }
    choice[op] = winner;
    table.push({ op, impl: winner, mbps });
  }
  return { kernels: composeKernels(choice, candidates), table, ms: performance.now() - t0 };
}
