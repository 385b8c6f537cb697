/**
 * The flags the `asynctx raid` verbs share, defined without loading the RAID
 * client, the kernels or the worker engines: registering a verb (for --help
 * or before its action is loaded) costs nothing.
 */
import { InvalidArgumentError, Option, type Command } from './commander.js';
import { parseBytes, parsePolicy, parseWorkers, type EngineFlags } from './flags.js';

export interface ArrayFlags extends EngineFlags {
  readonly?: boolean;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
  /** Seconds an NBD member's server may leave a request unanswered (0: forever). */
  nbdTimeout?: number;
}

/** Parses --nbd-timeout: seconds, fractions allowed, 0 for none. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 86_400) throw new InvalidArgumentError(`--nbd-timeout takes seconds from 0 (no timeout) to 86400, not "${value}"`);
  return n;
}

/** Parses a non-negative byte count given as a plain number or with a unit. */
export function parseOffset(value: string): number {
  return parseBytes(value);
}

/** Adds --workers and --policy to a command. */
export function engineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--workers <n|auto>', 'worker-thread engines for parity work (0: inline only; auto: one per spare core)').argParser(parseWorkers))
    .addOption(new Option('--policy <name>', 'where parity work runs: inline, auto (offload large operations) or offload').argParser(parsePolicy));
}
