/**
 * What `asynctx bench` runs (its flags are defined in index.ts): the kernel
 * rows after a fresh selection, or the --offload and --policy benchmarks.
 */
import { printPolicyBench, runPolicyBench } from './policy.js';
import { kernelSelectionMs, reselectKernels, wasmKernels, wasmKernelsError } from '../src/kernels/index.js';
import { BENCH_OPS, runBench, type BenchPlan, type BenchRow } from './kernel_run.js';
import { PEER_NAME, peerRow } from './peer.js';
import { isalHarness, isalRows } from './isal.js';
import { offloadBench } from './offload.js';
import type { BenchFlags } from './index.js';

/** The plan for the flags: --quick is one source count, short runs and a 256 MiB cold rotation. */
export function planFor(flags: BenchFlags): BenchPlan {
  const quick = flags.quick === true;
  return {
    ops: flags.ops ?? BENCH_OPS,
    sizes: flags.sizes ?? [4096, 65536, 1048576],
    sources: flags.sources ?? (quick ? [8] : [2, 4, 8, 16]),
    modes: flags.modes ?? ['hot', 'cold'],
    warmMs: quick ? 15 : 40,
    runs: quick ? 5 : 7,
    runMs: quick ? 8 : 20,
    coldBytes: 256 * 1048576,
    clock: flags.clock,
  };
}

function size(bytes: number): string {
  return bytes % 1048576 === 0 ? `${bytes / 1048576} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

function textRow(r: BenchRow): string {
  const cols = [r.op.padEnd(12), r.impl.padEnd(28), size(r.blockBytes).padStart(7), String(r.sources).padStart(3), r.mode.padEnd(4)];
  return `${cols.join('  ')}  ${r.gbps.toFixed(2).padStart(8)}${r.selected ? '  *' : ''}`;
}

export async function runKernelBench(flags: BenchFlags): Promise<void> {
  if (flags.offload) return offloadBench(flags);
  if (flags.policy) return policyBench(flags);
  const plan = planFor(flags);
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const emit = flags.json ? (r: BenchRow) => out(JSON.stringify(r)) : (r: BenchRow) => out(textRow(r));
  // Measured afresh: a remembered selection would hide what this CPU does now.
  const table = reselectKernels();
  if (!flags.json) {
    out(`kernel selection (${kernelSelectionMs().toFixed(1)} ms at start-up, MB/s per candidate):`);
    for (const c of table) {
      const m = Object.entries(c.mbps).map(([k, v]) => `${k} ${v}`).join(', ');
      out(`  ${c.op.padEnd(12)} ${c.impl.padEnd(10)} ${m}`);
    }
    if (wasmKernels() === null) out(`wasm-simd kernels unavailable: ${wasmKernelsError() ?? 'unknown reason'}; scalar rows only`);
    out('');
    out(`GB/s of source data (${plan.clock} clock); hot = same buffers, cold = rotating over ${plan.coldBytes / 1048576} MiB; * = used by the library`);
    out(`${'op'.padEnd(12)}  ${'impl'.padEnd(28)}  ${'block'.padStart(7)}  src  mode      GB/s`);
  }
  runBench(plan, emit);
  if (flags.peer) {
    const isal = isalHarness();
    if ('path' in isal) isalRows(plan, isal.path, emit);
    else (flags.json ? (l: string) => void process.stderr.write(`${l}\n`) : out)(isal.why);
  }
  if (flags.peer && plan.ops.includes('pq')) {
    const row = await peerRow(plan);
    if (row !== null) emit(row);
    else if (!flags.json) out(`peer ${PEER_NAME} not installed (npm i --no-save ${PEER_NAME} to compare)`);
    else process.stderr.write(`peer ${PEER_NAME} not installed (npm i --no-save ${PEER_NAME} to compare)\n`);
  }
}

/** `asynctx bench --policy`: the scheduler's targets, as a table (or JSON rows) and verdicts. */
async function policyBench(flags: BenchFlags): Promise<void> {
  const workers = flags.workers ?? 2;
  const result = await runPolicyBench({ workers, quick: flags.quick === true });
  if (flags.json) {
    for (const row of result.rows) process.stdout.write(`${JSON.stringify({ ...row, workers })}\n`);
    for (const v of result.verdicts) process.stdout.write(`${JSON.stringify({ verdict: v.name, value: v.value, target: v.target, met: v.met })}\n`);
  } else printPolicyBench(result, workers);
}
