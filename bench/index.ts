/**
 * `asynctx bench`: kernel throughput per operation, implementation, block
 * size, source count and cache state, with the start-up kernel choice, the
 * scalar reference and Buffer.copy as yardsticks, and a peer row for
 * @ronomon/reed-solomon when it is installed.
 */
import { printPolicyBench, runPolicyBench } from './policy.js';
import { InvalidArgumentError, type Command } from 'commander';
import { kernelSelectionMs, reselectKernels, wasmKernels, wasmKernelsError } from '../src/kernels/index.js';
import { BENCH_OPS, runBench, type BenchClock, type BenchMode, type BenchOp, type BenchPlan, type BenchRow } from './kernel_run.js';
import { PEER_NAME, peerRow } from './peer.js';
import { offloadBench, parseWorkers } from './offload.js';
import { registerHeadline } from './headline.js';
import { registerRaidBench } from './raid.js';

const SIZES: Record<string, number> = { '4k': 4096, '64k': 65536, '1m': 1048576 };

function parseList<T>(parse: (s: string) => T): (value: string) => T[] {
  return (value) => value.split(',').map((s) => parse(s.trim()));
}

function parseOp(s: string): BenchOp {
  if ((BENCH_OPS as readonly string[]).includes(s)) return s as BenchOp;
  throw new InvalidArgumentError(`unknown op "${s}" (one of ${BENCH_OPS.join(', ')})`);
}

function parseSize(s: string): number {
  const k = SIZES[s.toLowerCase()];
  if (k !== undefined) return k;
  if (/^\d+$/.test(s) && +s > 0 && +s <= 16 * 1048576) return +s;
  throw new InvalidArgumentError(`bad size "${s}" (4k, 64k, 1m or a byte count up to 16 MiB)`);
}

function parseSources(s: string): number {
  if (/^\d+$/.test(s) && +s >= 1 && +s <= 253) return +s;
  throw new InvalidArgumentError(`bad source count "${s}" (1 to 253)`);
}

function parseClock(value: string): BenchClock {
  if (value === 'wall' || value === 'cpu') return value;
  throw new InvalidArgumentError(`bad clock "${value}" (wall, cpu)`);
}

function parseModes(value: string): BenchMode[] {
  return value.split(',').map((s) => {
    if (s === 'hot' || s === 'cold') return s;
    throw new InvalidArgumentError(`bad mode "${s}" (hot, cold)`);
  });
}

interface BenchFlags {
  quick?: boolean;
  json?: boolean;
  ops?: BenchOp[];
  sizes?: number[];
  sources?: number[];
  modes?: BenchMode[];
  clock: BenchClock;
  peer: boolean;
  offload?: boolean;
  policy?: boolean;
  workers?: number;
}

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

async function runKernelBench(flags: BenchFlags): Promise<void> {
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

/**
 * Registers `asynctx bench` and every benchmark under it (`bench headline`, `bench raid`) in this one
 * place. Options are positional on the program and on `bench`, so what follows a sub-command's name
 * is that benchmark's own (`bench raid --workers 4` is the raid bench's --workers, not the kernel bench's).
 */
export function registerBench(program: Command): void {
  program.enablePositionalOptions();
  const bench = program
    .command('bench')
    .enablePositionalOptions()
    .description('measure kernel throughput (GB/s of source data) against the scalar reference and Buffer.copy')
    .option('--quick', 'one source count (8), short runs: well under a minute')
    .option('--json', 'one JSON object per row: {op, impl, blockBytes, sources, mode, gbps, selected}')
    .option('--ops <list>', `comma-separated ops (${BENCH_OPS.join(', ')})`, parseList(parseOp))
    .option('--sizes <list>', 'comma-separated block sizes: 4k, 64k, 1m or bytes', parseList(parseSize))
    .option('--sources <list>', 'comma-separated source counts (default 2,4,8,16; --quick 8)', parseList(parseSources))
    .option('--modes <list>', 'hot, cold or both (default)', parseModes)
    .option('--clock <clock>', 'wall (default), or cpu: leave out time other processes held the core', parseClock, 'wall')
    .option('--no-peer', `skip the ${PEER_NAME} peer row`)
    .option('--offload', 'measure the worker engines instead: P+Q offload vs inline, main-thread CPU per op, round trip')
    .option('--policy', "measure the scheduler instead: 'auto' vs the fixed inline and offload policies per size class")
    .option('--workers <n>', 'worker threads for --offload and --policy (default 2)', (v: string) => {
      try {
        return parseWorkers(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    })
    .action(async (flags: BenchFlags) => runKernelBench(flags));
  registerHeadline(bench);
  registerRaidBench(bench);
}
