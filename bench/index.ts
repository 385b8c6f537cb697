/**
 * `asynctx bench`: kernel throughput per operation, implementation, block
 * size, source count and cache state, with the start-up kernel choice, the
 * scalar reference and Buffer.copy as yardsticks, and a peer row for
 * @ronomon/reed-solomon when it is installed. The benchmarks and their flags
 * are defined here without loading what they measure (kernel_bench.ts and the
 * modules it runs are imported when a benchmark runs), so `asynctx --help`
 * loads no kernel.
 */
import { InvalidArgumentError, type Command } from '../src/cli/commander.js';
import { BENCH_OPS, PEER_NAME, type BenchClock, type BenchMode, type BenchOp } from './kernel_ops.js';
import { registerHeadline } from './headline.js';
import { registerRaidBench } from './raid.js';
import { registerNbdBench } from './nbd.js';
import { registerOverheadBench } from './overhead.js';
import { registerPplBench } from './ppl.js';
import { registerStartupBench } from './startup.js';
import { BENCH_DESCRIPTION } from './summary.js';

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

function parseBenchWorkers(value: string): number {
  if (/^\d+$/.test(value) && +value >= 1 && +value <= 64) return +value;
  throw new InvalidArgumentError(`bad worker count "${value}" (1 to 64)`);
}

function parseModes(value: string): BenchMode[] {
  return value.split(',').map((s) => {
    if (s === 'hot' || s === 'cold') return s;
    throw new InvalidArgumentError(`bad mode "${s}" (hot, cold)`);
  });
}

export interface BenchFlags {
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

/**
 * Registers `asynctx bench` and every benchmark under it (`bench headline`, `bench raid`, `bench nbd`) in this one
 * place. Options are positional on the program and on `bench`, so what follows a sub-command's name
 * is that benchmark's own (`bench raid --workers 4` is the raid bench's --workers, not the kernel bench's).
 */
export function registerBench(program: Command): void {
  program.enablePositionalOptions();
  const bench = program
    .command('bench')
    .enablePositionalOptions()
    .description(BENCH_DESCRIPTION)
    .option('--quick', 'one source count (8), short runs: well under a minute')
    .option('--json', 'one JSON object per row: {op, impl, blockBytes, sources, mode, gbps, selected}')
    .option('--ops <list>', `comma-separated ops (${BENCH_OPS.join(', ')})`, parseList(parseOp))
    .option('--sizes <list>', 'comma-separated block sizes: 4k, 64k, 1m or bytes', parseList(parseSize))
    .option('--sources <list>', 'comma-separated source counts (default 2,4,8,16; --quick 8)', parseList(parseSources))
    .option('--modes <list>', 'hot, cold or both (default)', parseModes)
    .option('--clock <clock>', 'wall (default), or cpu: leave out time other processes held the core', parseClock, 'wall')
    .option('--no-peer', `skip the reference rows: Intel ISA-L (built from bench/isal_peer.c when cc and libisal-dev are there) and ${PEER_NAME}`)
    .option('--offload', 'measure the worker engines instead: P+Q offload vs inline, main-thread CPU per op, round trip')
    .option('--policy', "measure the scheduler instead: 'auto' vs the fixed inline and offload policies per size class")
    .option('--workers <n>', 'worker threads for --offload and --policy (default 2)', parseBenchWorkers)
    .action(async (flags: BenchFlags) => (await import('./kernel_bench.js')).runKernelBench(flags));
  registerHeadline(bench);
  registerRaidBench(bench);
  registerNbdBench(bench);
  registerOverheadBench(bench);
  registerPplBench(bench);
  registerStartupBench(bench);
}
