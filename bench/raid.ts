/**
 * `asynctx bench raid`: the RAID targets, measured
 * in one run on the same files, for the inline path and for worker engines.
 * - full-stripe sequential write of a RAID-6 over N files, against writing the
 *   same data bytes striped over the same files with no parity (RAID-0), and
 *   against the member bytes a RAID-6 write moves (n/(n-2) × the data) with
 *   no parity computed: the write's I/O ceiling;
 * - read with two members missing (rebuilt from P+Q) against a healthy read;
 * - the compute of each alone (P+Q of the written rows, the rebuild), no I/O,
 *   and from it the ratio to expect if compute and copies took turns.
 * Every case issues requests of the same size with the same number in flight
 * through the same per-member request merging, after an untimed pass that
 * allocates every block. MB/s are data bytes; CPU is the main thread's own
 * time (per-thread) and the whole process's. The output says whether the page
 * cache can hide the I/O; --sync and --cold take it out of writes and reads.
 * The flags are defined here; raid_report.ts, loaded when it runs, runs and prints.
 */
import { Option, type Command } from '../src/cli/commander.js';
import { DEFAULT_MERGE_BYTES } from '../src/raid/member_queue.js';
import { parseBytes, parsePolicy, parseWorkers, type EngineFlags } from '../src/cli/flags.js';

export interface BenchFlags extends EngineFlags {
  members: number;
  memberSize: number;
  chunk: number;
  step: number;
  depth: number;
  merge: number;
  minTime: number;
  dir?: string;
  runs: number;
  sync?: boolean;
  cold?: boolean;
  json?: boolean;
  keep?: boolean;
}

/** The options of `bench raid`. */
function benchOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--members <n>', 'RAID-6 members').argParser(Number).default(6))
    .addOption(new Option('--member-size <size>', 'bytes per member file').argParser(parseBytes).default(128 << 20, '128M'))
    .addOption(new Option('--chunk <size>', 'chunk size').argParser(parseBytes).default(512 << 10, '512K'))
    .addOption(new Option('--step <size>', 'bytes per request (rounded to whole rows)').argParser(parseBytes).default(4 << 20, '4M'))
    .addOption(new Option('--depth <n>', 'requests in flight').argParser(Number).default(4))
    .addOption(new Option('--merge <size>', 'largest merged member request, for the array and the references alike').argParser(parseBytes).default(DEFAULT_MERGE_BYTES, '1M'))
    .addOption(new Option('--runs <n>', 'repetitions (the median is reported)').argParser(Number).default(3))
    .addOption(new Option('--min-time <seconds>', 'repeat each pass until this much time has passed').argParser(Number).default(1))
    .addOption(new Option('--workers <n|auto>', 'worker engines for the second set of rows (0: inline only)').argParser(parseWorkers).default('auto'))
    .addOption(new Option('--policy <name>', 'policy of the worker rows: inline, auto, offload').argParser(parsePolicy).default('auto'))
    .option('--sync', 'end every write pass with fdatasync of each member (timed)')
    .option('--cold', 'drop the member files from the page cache before every read pass (Linux)')
    .option('--dir <path>', 'where the member files go (default: the OS temp dir)')
    .option('--keep', 'keep the member files')
    .option('--json', 'print JSON');
}

const DESCRIPTION = 'RAID targets: RAID-6 full-stripe write vs striped write without parity; degraded vs healthy read; inline vs workers';

/** Adds `raid` under `asynctx bench` (`npm run bench -- raid`); the caller makes options positional, so its --workers is not the kernel bench's. */
export function registerRaidBench(bench: Command): void {
  benchOptions(bench.command('raid')).description(DESCRIPTION).action(async (flags: BenchFlags) => (await import('./raid_report.js')).benchRaid(flags));
}
