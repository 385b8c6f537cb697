/**
 * The measurements behind `asynctx bench`: GB/s of source data per
 * operation, implementation, block size, source count and cache state, as the
 * median of several timed runs after a warm-up. Rows are measured in a fixed
 * order (V8 tiering makes a kernel's timing depend on what ran before it).
 *
 * hot:  the same buffers every call (they live in cache up to L2/L3 size);
 * cold: each call takes the next of a rotation of buffer sets spanning
 *       ≥ 256 MiB, so the bytes come from DRAM.
 */
import { allocBlock, arena, freeBlock } from '../src/mem/arena.js';
import { kernels, scalarKernels, wasmKernels, wasmKernelVariants, type KernelOp, type KernelSet, type Slot } from '../src/kernels/index.js';
import type { BenchClock, BenchMode, BenchOp } from './kernel_ops.js';

export { BENCH_OPS, type BenchClock, type BenchMode, type BenchOp } from './kernel_ops.js';

/** One output row (also the --json object). */
export interface BenchRow {
  op: BenchOp;
  impl: string;
  blockBytes: number;
  sources: number;
  mode: BenchMode;
  gbps: number;
  selected: boolean;
}

export interface BenchPlan {
  ops: readonly BenchOp[];
  sizes: readonly number[];
  sources: readonly number[];
  modes: readonly BenchMode[];
  /** Warm-up, then `runs` timed runs of `runMs` each. */
  warmMs: number;
  runs: number;
  runMs: number;
  /** Bytes the cold rotation spans. */
  coldBytes: number;
  clock: BenchClock;
}

/** Milliseconds since the call, on `clock`. */
export function stopwatch(clock: BenchClock): () => number {
  const t0 = performance.now();
  if (clock === 'wall') return () => performance.now() - t0;
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return Math.min(performance.now() - t0, (c.user + c.system) / 1e3);
  };
}

/** The kernel op each bench op times (for `selected`). */
const KERNEL_OP: Record<BenchOp, KernelOp> = {
  memcpy: 'memcpy', memset: 'memset', xor: 'xor', xor_val: 'xorIsZero', pq: 'genSyndrome',
  pq_val: 'pqCheck', raid6_2data: 'recov2Data', raid6_datap: 'recovDataP',
};

/** memcpy and memset have one source whatever --sources says. */
export function sourcesFor(op: BenchOp, sources: number): number {
  return op === 'memcpy' || op === 'memset' ? 1 : sources;
}

/** Buffers of one call: `src` the sources (data slots), `out` the outputs (dest, or P and Q). */
interface Fixture {
  src: Uint8Array[];
  out: Uint8Array[];
}

function outputsFor(op: BenchOp): number {
  return op === 'xor' || op === 'memcpy' ? 1 : op === 'memset' || op === 'xor_val' ? 0 : 2;
}

/** Hands out views from one big region, 64-byte aligned, each one cache line further along modulo 4 KiB. */
class Carver {
  private at = 0;
  constructor(readonly region: Uint8Array) {}
  take(len: number): Uint8Array {
    const v = this.region.subarray(this.at, this.at + len);
    this.at += Math.ceil(len / 64) * 64 + 64;
    return v;
  }
  static bytesFor(blocks: number, len: number): number {
    return blocks * (Math.ceil(len / 64) * 64 + 64);
  }
}

/** Fills a fixture so the check ops read everything: xor of all sources zero, P/Q valid. */
function prepare(op: BenchOp, f: Fixture, seed: number): void {
  // The fastest kernels fill the cold rotation: JS fill() on shared memory crawls.
  const k = wasmKernels() ?? scalarKernels;
  f.src.forEach((b, i) => k.memset(b, (seed * 61 + i * 37 + 11) & 0xff));
  f.out.forEach((b) => k.memset(b, 0));
  if (op === 'xor_val' && f.src.length > 1) {
    k.xor(f.src[f.src.length - 1], f.src.slice(0, -1));
  }
  if (op === 'pq_val' || op === 'raid6_2data' || op === 'raid6_datap') k.genSyndrome(f.src, f.out[0], f.out[1]);
}

/** The call a row times, on kernel set k. Recovery rebuilds slots it then leaves correct, so calls repeat. */
function callFor(op: BenchOp, k: KernelSet): (f: Fixture) => void {
  switch (op) {
    case 'memcpy': return (f) => k.memcpy(f.out[0], f.src[0]);
    case 'memset': return (f) => k.memset(f.src[0], 0x5a);
    case 'xor': return (f) => k.xor(f.out[0], f.src);
    case 'xor_val': return (f) => void k.xorIsZero(f.src);
    case 'pq': return (f) => k.genSyndrome(f.src, f.out[0], f.out[1]);
    case 'pq_val': return (f) => void k.pqCheck(f.src, f.out[0], f.out[1]);
    case 'raid6_2data': return (f) => k.recov2Data(f.src as Slot[], f.out[0], f.out[1], 0, f.src.length - 1);
    case 'raid6_datap': return (f) => k.recovDataP(f.src as Slot[], f.out[0], f.out[1], 0);
  }
}

/**
 * Median GB/s of `call` over the rotation `fixtures` (one fixture: hot). The
 * clock is read once per batch of calls (sized to ~0.25 ms during warm-up),
 * so its cost does not count against small blocks.
 */
export function time<T>(call: (f: T) => void, fixtures: readonly T[], bytesPerCall: number, plan: BenchPlan): number {
  let i = 0;
  const batch = (count: number): void => {
    for (let c = 0; c < count; c++) {
      call(fixtures[i]);
      i = i + 1 === fixtures.length ? 0 : i + 1;
    }
  };
  let size = 1;
  const warmEnd = performance.now() + plan.warmMs;
  for (;;) {
    const t0 = performance.now();
    batch(size);
    const t = performance.now();
    if (t >= warmEnd) break;
    if (t - t0 < 0.25) size *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < plan.runs; r++) {
    let calls = 0;
    const elapsed = stopwatch(plan.clock);
    const t0 = performance.now();
    do {
      batch(size);
      calls += size;
    } while (performance.now() - t0 < plan.runMs);
    rates.push((calls * bytesPerCall) / (Math.max(1e-3, elapsed()) * 1e6));
  }
  rates.sort((a, b) => a - b);
  return Math.round(rates[rates.length >> 1] * 100) / 100;
}

/** Where the buffers of a row set come from: the arena, or plain Buffers. */
type Source = 'arena' | 'plain';

/** Allocates `count` fixtures for op/sources/size (count > 1: the cold rotation), and a release function. */
function fixtures(op: BenchOp, sources: number, size: number, count: number, from: Source): { list: Fixture[]; release: () => void } {
  const blocks = sourcesFor(op, sources) + outputsFor(op);
  const bytes = Carver.bytesFor(blocks * count, size);
  const region = from === 'arena' ? allocBlock(bytes) : new Uint8Array(bytes);
  const carver = new Carver(region);
  const list: Fixture[] = [];
  for (let c = 0; c < count; c++) {
    const f: Fixture = {
      src: Array.from({ length: sourcesFor(op, sources) }, () => carver.take(size)),
      out: Array.from({ length: outputsFor(op) }, () => carver.take(size)),
    };
    prepare(op, f, c);
    list.push(f);
  }
  return { list, release: () => (from === 'arena' ? freeBlock(region) : undefined) };
}

/** How many fixtures the cold rotation needs to span plan.coldBytes, capped by what the arena can hold. */
function coldCount(op: BenchOp, sources: number, size: number, plan: BenchPlan): number {
  const per = Carver.bytesFor(sourcesFor(op, sources) + outputsFor(op), size);
  const room = arena().usage().largestFree - 16 * 1024 * 1024;
  return Math.max(2, Math.min(Math.ceil(plan.coldBytes / per), Math.floor(room / per)));
}

/**
 * Measures every row of the plan, calling `emit` as each is done.
 * Impls: wasm-simd, each of its variants (for the ops where it differs) and
 * scalar on arena blocks; wasm-simd+copy on plain
 * Buffers (copied into the kernels' memory and back, hot only; `selected`
 * as for wasm-simd, the same kernels); buffer.copy, the memory-speed
 * yardstick, as memcpy rows between plain Buffers.
 */
export function runBench(plan: BenchPlan, emit: (row: BenchRow) => void): void {
  const choice = new Map(kernels().map((c) => [c.op, c.impl]));
  const wasm = wasmKernels();
  const impls: { name: string; k: KernelSet; from: Source }[] = [];
  if (wasm !== null) impls.push({ name: wasm.name, k: wasm, from: 'arena' });
  for (const v of wasmKernelVariants()) impls.push({ name: v.name, k: v, from: 'arena' });
  impls.push({ name: scalarKernels.name, k: scalarKernels, from: 'arena' });
  if (wasm !== null) impls.push({ name: `${wasm.name}+copy`, k: wasm, from: 'plain' });

  for (const mode of plan.modes) {
    for (const size of plan.sizes) {
      if (plan.ops.includes('memcpy')) {
        const count = mode === 'hot' ? 1 : Math.ceil(plan.coldBytes / Carver.bytesFor(2, size));
        const fx = fixtures('memcpy', 1, size, count, 'plain');
        const copy = (f: Fixture): void => void Buffer.from(f.src[0].buffer, f.src[0].byteOffset, size).copy(f.out[0]);
        emit({ op: 'memcpy', impl: 'buffer.copy', blockBytes: size, sources: 1, mode, gbps: time(copy, fx.list, size, plan), selected: false });
      }
      for (const op of plan.ops) {
        for (const sources of new Set(plan.sources.map((s) => sourcesFor(op, s)))) {
          if (op === 'raid6_2data' && sources < 2) continue;
          for (const from of ['arena', 'plain'] as const) {
            const users = impls.filter((i) => i.from === from && (i.k.variantOps === undefined || i.k.variantOps.includes(KERNEL_OP[op])));
            if (users.length === 0 || (from === 'plain' && mode === 'cold')) continue;
            const fx = fixtures(op, sources, size, mode === 'hot' ? 1 : coldCount(op, sources, size, plan), from);
            try {
              for (const impl of users) {
                const gbps = time(callFor(op, impl.k), fx.list, sources * size, plan);
                const selected = choice.get(KERNEL_OP[op]) === impl.k.name;
                emit({ op, impl: impl.name, blockBytes: size, sources, mode, gbps, selected });
              }
            } finally {
              fx.release();
            }
          }
        }
      }
    }
  }
}
