/**
 * Start-up kernel selection, as Linux lib/raid6 does it: time each valid
 * implementation of each operation briefly and keep the fastest per
 * operation. The result is a composite KernelSet and a table saying who won
 * and by how much.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { allocBlock, freeBlock } from '../mem/arena.js';
import type { Block, KernelSet, Slot } from './types.js';

/** The operations of a KernelSet. */
export type KernelOp = Exclude<keyof KernelSet, 'name'>;

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
const ROUNDS = 4;
/** How much faster a later candidate must measure to replace an earlier one. */
const MARGIN = 1.1;
const DATA = 4;

/** A KernelSet whose op `op` is `impls[choice[op]].op`. @throws RangeError when a choice names no candidate. */
export function composeKernels(choice: Readonly<Record<KernelOp, string>>, impls: readonly KernelSet[]): KernelSet {
  const names = new Set(KERNEL_OPS.map((op) => choice[op]));
  const set: Record<string, unknown> = { name: names.size === 1 ? [...names][0] : 'auto' };
  for (const op of KERNEL_OPS) {
    const impl = impls.find((k) => k.name === choice[op]);
    if (impl === undefined) throw new RangeError(`composeKernels: no kernel set named ${choice[op]} for ${op}`);
    set[op] = impl[op].bind(impl);
  }
  return set as unknown as KernelSet;
}

/** Buffers for one measurement: arena blocks, as the library's fast path uses. */
class Bench {
  readonly blocks: Block[] = [];
  readonly data: Block[];
  readonly p: Block;
  readonly q: Block;
  readonly dest: Block;
  readonly zero: Block;

  constructor(ref: KernelSet) {
    const block = (): Block => {
      const b = allocBlock(BLOCK);
      this.blocks.push(b);
      return b;
    };
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
      case 'memcpy': k.memcpy(dest, data[0]); return BLOCK;
      case 'memset': k.memset(dest, 0x5a); return BLOCK;
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
 * This thread's CPU time in ms, from the scheduler's own accounting
 * (/proc/thread-self/schedstat, ns precision), or null where there is none.
 * process.cpuUsage() will not do: it counts every thread, and on many kernels
 * it moves in whole ticks, so a sub-millisecond slice reads as 0 ms or 4 ms.
 */
class ThreadClock {
  private fd: number | null = null;
  private readonly buf = Buffer.alloc(128);
  constructor() {
    try {
      this.fd = openSync('/proc/thread-self/schedstat', 'r');
    } catch {
      this.fd = null;
    }
  }
  ms(): number | null {
    if (this.fd === null) return null;
    try {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
      const ns = Number(this.buf.toString('latin1', 0, n).split(' ')[0]);
      return Number.isFinite(ns) ? ns / 1e6 : null;
    } catch {
      return null;
    }
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * MB/s of op on k over about `ms` milliseconds (at least one call), after an
 * untimed `first` call. The time is the smaller of wall-clock and this
 * thread's CPU time: CPU time leaves out the stretches when another process
 * had the core, wall-clock leaves out nothing the kernel itself did. Without a
 * precise thread clock, wall-clock alone.
 */
function measure(bench: Bench, clock: ThreadClock, k: KernelSet, op: KernelOp, ms: number, first: boolean): number {
  if (first) bench.run(k, op);
  let bytes = 0;
  const c0 = clock.ms();
  const t0 = performance.now();
  let t = t0;
  do {
    bytes += bench.run(k, op);
    t = performance.now();
  } while (t - t0 < ms);
  const c1 = clock.ms();
  const wall = t - t0;
  const cpu = c0 !== null && c1 !== null ? c1 - c0 : wall;
  // A CPU reading far below the wall time of a loop that never blocks is a clock fault, not speed.
  const elapsed = cpu > wall / 8 ? Math.min(wall, cpu) : wall;
  return bytes / 1e3 / Math.max(1e-3, elapsed);
}

/**
 * Picks the fastest candidate per operation with a benchmark of about
 * `budgetMs` in all. Recovery ops leave the bench stripe as it was, so every
 * candidate sees the same bytes. With one candidate nothing is measured.
 * @param candidates valid kernel sets in order of preference: a later one
 *   replaces an earlier one for an op only when it measured ≥ 10 % faster, so
 *   noise on a busy machine does not flip a choice made by design
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
  const clock = new ThreadClock();
  const best = new Map<string, number>();
  try {
    // Interleaved rounds, keeping each candidate's best: the first round also serves as
    // warm-up (V8 tiers both JS and wasm up while it runs), interleaving keeps that from
    // favouring whichever candidate runs last, and on a busy machine a round that lost
    // the CPU to another process is outvoted by one that did not.
    const deadline = t0 + budgetMs - 2; // the last calls overrun their slice
    let left = ROUNDS * KERNEL_OPS.length * candidates.length;
    for (let round = 0; round < ROUNDS; round++) {
      // Two rounds however slow (a busy machine overruns the budget rather than guess
      // from one sample); more only while time is left.
      if (round > 1 && performance.now() >= deadline) break;
      for (const op of KERNEL_OPS) {
        for (const k of candidates) {
          const slice = Math.max(0.05, (deadline - performance.now()) / left--);
          const key = `${op}:${k.name}`;
          best.set(key, Math.max(best.get(key) ?? 0, measure(bench, clock, k, op, slice, round === 0)));
        }
      }
    }
  } finally {
    bench.free();
    clock.close();
  }
  for (const op of KERNEL_OPS) {
    const mbps: Record<string, number> = {};
    let winner = candidates[0].name;
    for (const k of candidates) {
      mbps[k.name] = Math.round(best.get(`${op}:${k.name}`) ?? 0);
      if (mbps[k.name] > mbps[winner] * MARGIN) winner = k.name;
    }
    choice[op] = winner;
    table.push({ op, impl: winner, mbps });
  }
  return { kernels: composeKernels(choice, candidates), table, ms: performance.now() - t0 };
}
