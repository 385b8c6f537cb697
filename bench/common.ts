/**
 * Helpers every benchmark shares, written once: the threads' CPU and run delay (Linux schedstat),
 * a deterministic PRNG for random request patterns, the median of repeated runs, and the
 * machine line and CPU pressure (PSI) a report states. (The data
 * fill and the calling thread's CPU time are in src/cli/workload.ts, because the demo uses them too.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

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

/** A small deterministic PRNG, so every run and policy does the same random requests. */
export { seededRandom as prng } from '../src/random.js';

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Linux CPU pressure (PSI): share of the last 60 s in which some runnable task waited for a CPU, machine-wide. */
export function cpuPressure(): string {
  try {
    const m = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? `CPU pressure (PSI some) ${m[2]}% over 60 s` : 'CPU pressure unknown';
  } catch {
    return 'CPU pressure unknown';
  }
}

/** CPUs, RAM, kernel, Node and libuv pool size, in one line. */
export function machine(): string {
  const c = cpus();
  return `${c.length} CPU(s) ${c[0]?.model ?? 'unknown'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}, libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 4} threads`;
}
