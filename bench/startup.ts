/**
 * `asynctx bench startup`: what a process pays to start — bare `node -e 0`,
 * `asynctx --help`, `asynctx raid status` on a small array, `import('asynctx')`,
 * and the import plus a first 4 KiB xor with a warm selection cache and with
 * the cache off — as the median over N spawns, interleaved, all in one run, with
 * the ratios to the bare start and the targets of issue 14. The flags are
 * defined here; startup_run.ts, loaded when it runs, measures and prints.
 */
import { InvalidArgumentError, type Command } from '../src/cli/commander.js';

export interface StartupFlags {
  runs: number;
  json?: boolean;
}

function parseRuns(value: string): number {
  if (/^\d+$/.test(value) && +value >= 3 && +value <= 500) return +value;
  throw new InvalidArgumentError(`bad run count "${value}" (3 to 500)`);
}

export function registerStartupBench(bench: Command): void {
  bench
    .command('startup')
    .description('start-up cost: node -e 0, --help, raid status, import, import + first xor (warm / cold cache), median over N spawns')
    .option('--runs <n>', 'spawns per case, interleaved (3 to 500)', parseRuns, 31)
    .option('--json', 'one JSON object per case: {name, wallMs, cpuMs, ratio, aboveMs}')
    .addHelpText(
      'after',
      '\nTargets: import + first xor (warm cache) <= 30 ms above node -e 0; raid status and --help <= 1.5x node -e 0.\n' +
        'Wall time is the figure; CPU time (the child\'s own, all threads) is printed beside it as a check on a loaded machine.\n',
    )
    .action(async (flags: StartupFlags) => (await import('./startup_run.js')).runStartup(flags));
}
