/**
 * Flag parsers that both the product's CLI and the benchmarks (bench/) use: sizes, worker counts
 * and policies. One copy, so that the two commands' parsers cannot drift apart (scripts that call
 * both would notice). Nothing here loads the library (the policy type is a type-only import): a
 * command's options are defined with these parsers without paying for the kernels or the worker
 * engines; engine.ts turns EngineFlags into a client when a command runs.
 */
import { InvalidArgumentError } from './commander.js';
import type { PolicyName } from '../client.js';

/** Parses "64M", "512K", "1G", "4096" (bytes), "8s" (sectors); binary units like mdadm. */
export function parseBytes(value: string): number {
  const m = /^(\d+)([kKmMgGtTsS]?)(i?[bB])?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not a size (examples: 4096, 64K, 512M, 2G)`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, s: 512 };
  const n = Number(m[1]) * mult[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is too large`);
  return n;
}

/** Where parity work runs: --workers N|auto and --policy inline|auto|offload. */
export interface EngineFlags {
  workers?: number | 'auto';
  policy?: PolicyName;
}

export function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  if (/^\d+$/.test(value) && Number(value) <= 256) return Number(value);
  throw new InvalidArgumentError(`--workers must be a thread count (0 to 256) or "auto", not "${value}"`);
}

export function parsePolicy(value: string): PolicyName {
  if (value === 'inline' || value === 'auto' || value === 'offload') return value;
  throw new InvalidArgumentError(`--policy must be inline, auto or offload, not "${value}"`);
}
