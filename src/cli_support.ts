/**
 * Helpers that both the product's CLI (src/cli) and the benchmarks (bench/) use: size, worker and
 * policy flags, the engine a command runs its parity work on, JSON output, a bounded-depth request
 * stream and the calling thread's CPU time. They live here, outside both folders, because the
 * layering rule is that nothing imports cli/ or bench/; copying them into each would let the two
 * copies of a flag's parser drift apart, which scripts that call both commands would notice.
 * Nothing here loads the library (the client type is a type-only import): a command's options are
 * defined with these parsers without paying for the kernels or the worker engines; the engine a
 * command runs on is in cli_engine.ts, loaded by the commands that run parity work.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from './cli/commander.js';
import type { PolicyName } from './client.js';

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

/** Prints a value as one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Runs requests 0..count-1, `depth` at a time in order; `request(i, lane)` gets a lane number < depth for its buffers. */
export async function stream(count: number, depth: number, request: (i: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (l: number): Promise<void> => {
    while (next < count && !failed) {
      const i = next++;
      try {
        await request(i, l);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(depth, count) }, (_, l) => lane(l)));
}

/** This thread's CPU time in ns, or null where /proc/thread-self/schedstat is missing (not Linux). */
export function threadCpuNs(): number | null {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/** xorshift words, distinct per seed: request data made once, before timing. */
export function fill(b: Uint8Array, seed: number): void {
  const w = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w[i] = x >>> 0;
  }
}
