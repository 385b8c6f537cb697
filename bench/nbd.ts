/**
 * `asynctx bench nbd`: what serving an array over NBD costs, measured in one
 * run on the same RAID-6 member files:
 * - nbdcopy of the whole export out of `asynctx raid serve` (to nbdcopy's
 *   null: sink) against `asynctx raid read` of the same bytes to /dev/null;
 * - nbdcopy of a file into the export (with --flush) against `asynctx raid
 *   write` of the same file;
 * - when nbdkit is installed, the peer: nbdcopy out of `nbdkit file` serving
 *   one member file (one member's worth of data), no target.
 * The ratios are the targets' (>= 0.85 both ways). `raid read`/`raid write`
 * are timed as the processes a user runs; nbdcopy is timed with the server
 * already up (its start-up, assembly included, is reported on its own).
 * Load average and CPU pressure before and after say how busy the machine was.
 * The flags are defined here; nbd_report.ts, loaded when it runs, runs and prints.
 */
import { InvalidArgumentError, Option, type Command } from '../src/cli/commander.js';
import { parseBytes } from '../src/cli/flags.js';

export interface NbdBenchFlags {
  members: number;
  memberSize: number;
  chunk: number;
  connections: number;
  requests: number;
  requestSize: number;
  runs: number;
  dir?: string;
  json?: boolean;
  keep?: boolean;
}

function positive(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, not "${v}"`);
    return n;
  };
}

function benchOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--members <n>', 'RAID-6 members').argParser(positive('--members')).default(6))
    .addOption(new Option('--member-size <size>', 'bytes per member file').argParser(parseBytes).default(256 << 20, '256M'))
    .addOption(new Option('--chunk <size>', 'chunk size').argParser(parseBytes).default(512 << 10, '512K'))
    .addOption(new Option('--connections <n>', "nbdcopy's connections (the server advertises multi-conn)").argParser(positive('--connections')).default(4))
    .addOption(new Option('--requests <n>', "nbdcopy's requests in flight per connection").argParser(positive('--requests')).default(16))
    .addOption(new Option('--request-size <size>', "nbdcopy's request size").argParser(parseBytes).default(256 << 10, '256K'))
    .addOption(new Option('--runs <n>', 'repetitions of every case (the median is reported)').argParser(positive('--runs')).default(3))
    .option('--dir <path>', 'where the member files go (default: the OS temp dir)')
    .option('--keep', 'keep the member files')
    .option('--json', 'print JSON');
}

const DESCRIPTION = 'NBD targets: nbdcopy out of / into `raid serve` vs `raid read` / `raid write` of the same bytes; nbdkit file as the peer';

/** Adds `nbd` under `asynctx bench` (`npm run bench -- nbd`). */
export function registerNbdBench(bench: Command): void {
  benchOptions(bench.command('nbd')).description(DESCRIPTION).action(async (flags: NbdBenchFlags) => (await import('./nbd_report.js')).benchNbd(flags));
}
