/**
 * The `asynctx` command line: one sub-command per file in this folder,
 * registered here. Registering loads only the commands' flags: each command
 * imports what it runs (the RAID client, the kernels, the worker engines)
 * when its action starts, so `--help`, a usage error or a `raid status` pays
 * for nothing it does not use. Nothing in the library imports from it. The benchmarks
 * (`asynctx bench …`, in bench/) are not part of the product: bin/asynctx.js
 * passes their registrar in, so nothing in src/ imports bench/; they take their
 * flag parsers, output and workloads from here (flags.ts, output.ts, workload.ts,
 * engine.ts, commander.ts), so that the two cannot drift apart.
 */
import { Command, CommanderError } from './commander.js';
import { registerDemo } from './demo.js';
import { registerRaid } from './raid.js';
import { registerStats } from './stats.js';

/**
 * Errors commander has already printed (a bad flag, a missing argument, --help): it reports
 * those itself before they reach exitOverride. A CommanderError that never passed through
 * here was thrown by a command's own action (an InvalidArgumentError such as an offset past
 * the array's end) and has not been shown yet.
 */
const reported = new WeakSet<CommanderError>();

/**
 * The product's own commands, as buildProgram registers them: bin/asynctx.js
 * skips loading the benchmarks' registrar when the command is one of these.
 */
export const COMMANDS: readonly string[] = ['raid', 'stats', 'demo'];

/** Adds commands to the program (the benchmarks' registrar is one). */
export type Registrar = (program: Command) => void;

export function buildProgram(extra: readonly Registrar[] = []): Command {
  const program = new Command();
  program
    .name('asynctx')
    .description(
      'Asynchronous memory transforms (memcpy, xor, RAID-6 P+Q and recovery) offloaded to ' +
        'WebAssembly SIMD kernels and worker-thread engines, and an md-compatible RAID-5/6.',
    )
    .showHelpAfterError('(run with --help for usage)')
    // Set before any sub-command is made: commander copies the callback into each one.
    .exitOverride((err) => {
      reported.add(err);
      throw err;
    });
  for (const register of extra) register(program);
  registerRaid(program);
  registerStats(program);
  registerDemo(program);
  return program;
}

/** Runs the CLI; sets process.exitCode (0 ok, 1 failure, 2 usage) with a one-line reason on error. */
export async function main(argv: string[], extra: readonly Registrar[] = []): Promise<void> {
  const program = buildProgram(extra);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      if (!reported.has(err)) console.error(`asynctx: ${err.message}`);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error(`asynctx: ${message}`);
    process.exitCode = 1;
  }
}
