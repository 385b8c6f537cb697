/**
 * What the program's own help shows of `asynctx bench`: its name and line.
 * bin/asynctx.js registers this stand-in when no argument is `bench`, so
 * `asynctx --help` or a usage error lists the benchmarks without loading the
 * registrars of every benchmark's flags (index.ts, which uses the same line).
 */
import type { Command } from 'commander';

export const BENCH_DESCRIPTION = 'measure kernel throughput (GB/s of source data) against the scalar reference and Buffer.copy';

/** The stand-in: the same name, line and parsing mode as registerBench gives the program, and no flags. */
export function registerBenchSummary(program: Command): void {
  program.enablePositionalOptions();
  program.command('bench').description(BENCH_DESCRIPTION);
}
