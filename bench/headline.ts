/**
 * `asynctx bench headline` (npm run bench -- headline): the async_tx paper's
 * headline experiment on our RAID — inline against worker engines (policy
 * auto) for sequential write and read, degraded read with 1 and 2 members
 * missing, random read/write, resync and check; MB/s (median of the runs,
 * min-max) and the main thread's own CPU share. Prints a table (or JSON rows),
 * and with --report DIR writes a markdown report with SVG charts. The flags
 * are defined here; headline_report.ts, loaded when it runs, runs and reports.
 */
import { InvalidArgumentError, Option, type Command } from '../src/cli/commander.js';
import { parseBytes, parseWorkers } from '../src/cli/flags.js';

export interface HeadlineFlags {
  quick?: boolean;
  runs?: number;
  size?: number;
  streams: number;
  workers: number | 'auto';
  cold?: boolean;
  json?: boolean;
  report?: string;
  dir?: string;
  memberIo?: 'chain' | 'queue';
}

const positive = (what: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${what} must be a whole number of 1 or more, not "${v}"`);
  return Number(v);
};

function options(cmd: Command): Command {
  return cmd
    .description('the async_tx paper\'s experiment: RAID-6/5 seq write/read, degraded read, random r/w, resync, check; inline vs worker engines (MB/s, main-thread CPU)')
    .option('--quick', 'fewer runs (3) and less data (64 MiB per array): under two minutes')
    .addOption(new Option('--runs <n>', 'runs per case (the median is reported; default 5, --quick 3)').argParser(positive('--runs')))
    .addOption(new Option('--size <bytes>', 'array data per level (default 256M, --quick 64M); 4K passes move 1/8 of it').argParser(parseBytes))
    .addOption(new Option('--streams <n>', 'concurrent request streams (tiobench threads)').argParser(positive('--streams')).default(4))
    .addOption(new Option('--workers <n|auto>', 'worker engines of the auto rows').argParser(parseWorkers).default('auto'))
    .option('--cold', 'sync after writes and drop the members from the page cache before reads (reads from the disk)')
    .option('--json', 'one JSON object per row: {case, level, blockBytes, policy, mbps, mainThreadCpu, ...}')
    .option('--report <dir>', 'write README.md with the table and SVG charts (MB/s and CPU per case) into DIR')
    .option('--dir <path>', 'where the member files go (default: the OS temp dir)')
    .addOption(new Option('--member-io <how>', 'how stripes reach members: chain (member I/O as steps of the stripe\'s chain, on the engines) or queue (main-thread queues that merge requests)').choices(['chain', 'queue']).default('queue'))
    .addHelpText(
      'after',
      '\nExamples:\n  npm run bench -- headline --quick\n  asynctx bench headline --report docs/performance\n  asynctx bench headline --cold --size 2G    sized past the page cache\n' +
        '\nThe targets (RAID-6, this run): 128K seq write workers >= 1.5x inline; degraded read with 2 missing >= 1.55x;\n' +
        'resync and check with the main thread <= 15% CPU at >= 1.3x inline; <= 0.25 ms main-thread CPU per MB written;\n' +
        'event-loop p99 <= 5 ms during resync. raw-write/raw-read rows: the same member bytes as positional I/O (the I/O path\'s limit).\n',
    )
    .action(async (flags: HeadlineFlags) => (await import('./headline_report.js')).headline(flags));
}

/** Adds `headline` under `asynctx bench`; the caller makes options positional, so what follows `headline` is its own. */
export function registerHeadline(bench: Command): void {
  options(bench.command('headline'));
}
