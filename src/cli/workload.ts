/**
 * Request workloads, as `asynctx demo` and the benchmarks (bench/) drive them: request data, a
 * bounded-depth request stream and the calling thread's CPU time. Shared so that the demo's
 * figures and the benchmarks' are made the same way. Loads no library.
 */
import { readFileSync } from 'node:fs';

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
