/**
 * `asynctx bench ppl`: what the partial parity log costs RAID-5 writes —
 * the same writes on two arrays of the same shape, one with consistency
 * policy resync and one with ppl, interleaved run by run so both see the
 * same machine: sequential full-stripe writes (md's figure for PPL there is
 * close to none), sequential 128 KiB writes, random 4 KiB writes. The flags
 * are defined here; ppl_run.ts, loaded when it runs, measures and prints.
 */
import { Option, type Command } from '../src/cli/commander.js';
import { parseBytes, parseWorkers } from '../src/cli/flags.js';

export interface PplBenchFlags {
  quick?: boolean;
  json?: boolean;
  size?: number;
  members: number;
  workers: number | 'auto';
  dir?: string;
}

export function registerPplBench(bench: Command): void {
  bench
    .command('ppl')
    .description('RAID-5 write cost of the partial parity log: resync vs ppl arrays, full-stripe, 128 KiB and random 4 KiB writes, one run')
    .option('--quick', 'fewer runs (3) and less data (32 MiB per pass)')
    .addOption(new Option('--size <bytes>', 'data per sequential pass (default 128M, --quick 32M); the 4 KiB pass moves 1/16 of it').argParser(parseBytes))
    .addOption(new Option('--members <n>', 'RAID-5 members').argParser((v) => Number(v)).default(5))
    .addOption(new Option('--workers <n|auto>', 'engines for parity (0: inline)').argParser(parseWorkers).default(0))
    .option('--dir <path>', 'where the member files go (default: the OS temp dir)')
    .option('--json', 'one JSON object per row: {case, policy, mbps, overhead, ...}')
    .addHelpText('after', '\nThe target: PPL overhead on sequential full-stripe writes <= 10% (ppl vs resync, same run).\nMember files live in the page cache; the log\'s flushes are real fdatasyncs.\n')
    .action(async (flags: PplBenchFlags) => (await import('./ppl_run.js')).runPplBench(flags));
}
