/**
 * `asynctx demo` (what `npm start` runs): the tour a newcomer takes first, a
 * RAID-6 on sparse files written, degraded, read back, rebuilt and checked,
 * inline against worker engines (demo_run.ts, loaded when the demo runs).
 */
import { Option, type Command } from './commander.js';
import { parseBytes, parsePolicy, parseWorkers } from './flags.js';
import type { DemoFlags } from './demo_run.js';

/** Registers `asynctx demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the tour: RAID-6 on 6 sparse files, write, fail 2 members, read back verified, rebuild, check; inline vs worker engines measured')
    .addOption(new Option('--size <bytes>', 'data to write (rounded up to whole 2 MiB stripes)').argParser(parseBytes).default(256 << 20, '256M'))
    .option('--keep <dir>', 'put the members in DIR and keep them (prints commands to try next)')
    .addOption(new Option('--workers <n|auto>', 'worker engines for the offload half (default: auto, one per spare core)').argParser(parseWorkers))
    .addOption(new Option('--policy <name>', 'policy of the worker client: auto (default) or offload').argParser(parsePolicy))
    .option('--json', 'print one JSON summary (no progress output)')
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExamples:\n  npm start                       the default tour (256 MiB, well under a minute)\n' +
        '  asynctx demo --size 512M        more data\n  asynctx demo --keep ./arr       keep the members and try `asynctx raid detail ./arr/*.img`\n' +
        '  asynctx demo --json             machine-readable summary\n',
    )
    .action(async (flags: DemoFlags) => (await import('./demo_run.js')).runDemo(flags));
}
