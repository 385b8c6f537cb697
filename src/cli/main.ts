/**
 * The `asynctx` command line: one sub-command per file in this folder,
 * registered here. Nothing outside src/cli imports from it.
 */
import { Command, CommanderError } from 'commander';
import { registerBench } from './bench.js';
import { registerDemo } from './demo.js';
import { registerRaid } from './raid.js';
import { registerStats } from './stats.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('asynctx')
    .description(
      'Asynchronous memory transforms (memcpy, xor, RAID-6 P+Q and recovery) offloaded to ' +
        'WebAssembly SIMD kernels and worker-thread engines, and an md-compatible RAID-5/6.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerBench(program);
  registerRaid(program);
  registerStats(program);
  registerDemo(program);
  return program;
}

/** Runs the CLI; sets process.exitCode (0 ok, 1 failure, 2 usage) with a one-line reason on error. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error(`asynctx: ${message}`);
    process.exitCode = 1;
  }
}
