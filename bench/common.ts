/**
 * Helpers every benchmark shares, written once: the threads' CPU and run delay (Linux schedstat),
 * a deterministic PRNG for random request patterns, and the median of repeated runs. (The data
 * fill and the calling thread's CPU time are in src/cli_support.ts, because the demo uses them too.)
 */
import { readdirSync, readFileSync } from 'node:fs';

/** [cpu ns, run-delay ns] of one thread's schedstat, or null. */
export function schedstat(path: string): [number, number] | null {
  try {
    const f = readFileSync(path, 'utf8').split(' ');
    return [Number(f[0]), Number(f[1])];
  } catch {
    return null;
  }
}

/** Summed run_delay of this process's threads other than the main one (threads come and go: the ones alive at both reads count). */
export function othersDelay(): Map<string, number> {
  const m = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      if (Number(tid) === process.pid) continue;
      const s = schedstat(`/proc/self/task/${tid}/schedstat`);
      if (s) m.set(tid, s[1]);
    }
  } catch {
    // not Linux: no figure
  }
  return m;
}

/** A small deterministic PRNG (mulberry32), so every run and policy does the same random requests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
