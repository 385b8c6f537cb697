/**
 * `asynctx bench overhead`: what the API adds above the kernel on the
 * synchronous path — µs per call of each operation (validation, descriptor,
 * completion) against the bare kernel call on the same arena blocks, at
 * 512 B, 4 KiB and 64 KiB, 8 sources where an operation takes sources. CPU
 * time of this thread, median of several runs. The flags are defined here;
 * overhead_run.ts, loaded when it runs, measures and prints.
 */
import type { Command } from 'commander';

export interface OverheadFlags {
  json?: boolean;
  quick?: boolean;
}

export function registerOverheadBench(bench: Command): void {
  bench
    .command('overhead')
    .description('API overhead above the kernel on the synchronous path: µs per call, per op, at 512 B, 4 KiB, 64 KiB')
    .option('--quick', 'shorter runs')
    .option('--json', 'one JSON object per row: {op, blockBytes, apiUs, kernelUs, overheadUs}')
    .addHelpText('after', '\nThe target: overhead (api - kernel) <= 1 µs per call at 4 KiB, any op.\n')
    .action(async (flags: OverheadFlags) => (await import('./overhead_run.js')).runOverhead(flags));
}
