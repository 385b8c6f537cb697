/**
 * The measuring half of `asynctx bench raid`: request streams with a queue
 * depth, timed passes repeated to a minimum duration, the main thread's own
 * CPU time (Linux schedstat of this thread) next to the process's, and the
 * reference writers that put the same bytes on the same files without parity.
 *
 * Every workload goes through the same machinery: requests of `step` data
 * bytes, `depth` of them in flight, member I/O through a MemberQueue (the one
 * the array uses, so the references get the same request merging).
 */
import { spawn } from 'node:child_process';
import type { Layout, MemberQueue, RaidArray, RaidOps } from '../src/raid/index.js';
import type { Tx } from '../src/raid/ops.js';
import { runCompute, runReconstruct, type StripeBlocks } from '../src/raid/stripe_ops.js';
import { stream, threadCpuNs } from '../src/cli/workload.js';

/** One timed measurement. */
export interface Sample {
  /** Data bytes per second / 1e6. */
  mbps: number;
  /** The main thread's CPU time over wall time (0..1), null when unknown. */
  mainCpu: number | null;
  /** The whole process's CPU time over wall time (cores busy: workers and libuv's pool included). */
  processCpu: number;
}

/**
 * Runs `pass` (moving `bytes` data bytes) until at least `minSeconds` of
 * passes have gone by, and measures the passes only: `before` (untimed, not
 * counted) runs ahead of each one.
 */
export async function measure(bytes: number, minSeconds: number, pass: () => Promise<void>, before?: () => Promise<void>): Promise<Sample> {
  let moved = 0;
  let wall = 0;
  let cpuUs = 0;
  let threadNs: number | null = 0;
  do {
    await before?.();
    const cpu0 = process.cpuUsage();
    const th0 = threadCpuNs();
    const t0 = process.hrtime.bigint();
    await pass();
    wall += Number(process.hrtime.bigint() - t0) / 1e9;
    const th1 = threadCpuNs();
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
    threadNs = th0 === null || th1 === null || threadNs === null ? null : threadNs + (th1 - th0);
    moved += bytes;
  } while (wall < minSeconds);
  return { mbps: moved / wall / 1e6, mainCpu: threadNs === null ? null : threadNs / 1e9 / wall, processCpu: cpuUs / 1e6 / wall };
}

/**
 * Drops the files' pages from the page cache (they are synced first: only
 * clean pages can go), so the next read comes from the disk. Uses GNU dd's
 * iflag=nocache (posix_fadvise DONTNEED on the file: nothing else is
 * evicted). Resolves false where that is not available.
 */
export async function dropCache(files: ReadonlyArray<{ readonly name: string; sync(): Promise<void> }>): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  await Promise.all(files.map((f) => f.sync()));
  const results = await Promise.all(
    files.map(
      (f) =>
        new Promise<boolean>((resolve) => {
          const child = spawn('dd', [`if=${f.name}`, 'iflag=nocache', 'count=0', 'status=none'], { stdio: 'ignore' });
          child.on('error', () => resolve(false));
          child.on('exit', (code) => resolve(code === 0));
        }),
    ),
  );
  return results.every(Boolean);
}

/** Where the reference writers put bytes: the files' queues, chunk size and data offset. */
export interface Stripes {
  readonly queues: readonly MemberQueue[];
  readonly chunk: number;
  readonly dataOffset: number;
}

/**
 * Same data, same files, no parity (RAID-0): chunk k of the data goes to
 * member k mod n at row k div n. `step` must be a multiple of the chunk.
 */
export function stripedRequest(s: Stripes, data: Uint8Array, at: number): Promise<void> {
  const n = s.queues.length;
  const io: Promise<void>[] = [];
  for (let c = 0; c < data.length; c += s.chunk) {
    const k = (at + c) / s.chunk;
    io.push(s.queues[k % n]!.submit(true, data.subarray(c, c + s.chunk), s.dataOffset + Math.floor(k / n) * s.chunk));
  }
  return Promise.all(io).then(() => undefined);
}

/**
 * The member bytes a RAID-6 full-stripe write moves, without computing
 * parity: each row of n-2 data chunks also writes two chunks of `filler`
 * (where P and Q would go). This is the write's I/O ceiling: parity for free.
 */
export function memberBytesRequest(s: Stripes, data: Uint8Array, at: number, filler: Uint8Array): Promise<void> {
  const n = s.queues.length;
  const rowData = (n - 2) * s.chunk;
  const io: Promise<void>[] = [];
  for (let r = 0; r * rowData < data.length; r++) {
    const pos = s.dataOffset + (at / rowData + r) * s.chunk;
    for (let d = 0; d < n; d++) {
      const src = d < n - 2 ? data.subarray(r * rowData + d * s.chunk, r * rowData + (d + 1) * s.chunk) : filler;
      io.push(s.queues[d]!.submit(true, src, pos));
    }
  }
  return Promise.all(io).then(() => undefined);
}

/** Writes pool[i mod K] at i*step for every request. */
export function arrayWritePass(array: RaidArray, pool: readonly Uint8Array[], step: number, count: number, depth: number): Promise<void> {
  return stream(count, depth, (i) => array.write(pool[i % pool.length]!, i * step));
}

/** Reads every step into the lane's buffer; `check` (when given) sees each request's bytes. */
export function arrayReadPass(
  array: RaidArray,
  bufs: readonly Uint8Array[],
  step: number,
  count: number,
  check?: (i: number, got: Uint8Array) => void,
): Promise<void> {
  return stream(count, bufs.length, async (i, lane) => {
    const buf = bufs[lane]!;
    await array.read(buf, i * step);
    check?.(i, buf);
  });
}

/** Scratch for the compute-only passes: one chunk-sized block per member, per lane. */
export type Scratch = ReadonlyArray<ReadonlyArray<Uint8Array>>;

/**
 * The parity or recovery work of a pass with no I/O, on the array's own
 * stripe stages: `parity` computes P and Q of every row of every request
 * from the request's bytes (a full-stripe write's work); `recovery` rebuilds
 * the data members in `missing` of every row (a degraded read's work; the
 * rebuilt blocks land in scratch, the data is not touched).
 */
export function computePass(
  ops: RaidOps,
  layout: Layout,
  kind: 'parity' | 'recovery',
  missing: readonly number[],
  pool: readonly Uint8Array[],
  step: number,
  count: number,
  scratch: Scratch,
): Promise<void> {
  const chunk = layout.chunkBytes;
  const rowData = layout.dataDisks * chunk;
  return stream(count, scratch.length, async (i, lane) => {
    const data = pool[i % pool.length]!;
    const txs: Tx[] = [];
    for (let r = 0; r * rowData < step; r++) {
      const row = layout.row((i * step) / rowData + r);
      const views = scratch[lane]!.map((s, d) => {
        const k = row.dataIndexOfDisk[d]!;
        const lost = kind === 'recovery' && missing.includes(d);
        return k >= 0 && !lost ? data.subarray(r * rowData + k * chunk, r * rowData + (k + 1) * chunk) : s;
      });
      const blocks: StripeBlocks = { level: layout.geometry.level, row, views, len: chunk };
      const lostData = missing.filter((d) => row.dataIndexOfDisk[d]! >= 0);
      const tx = kind === 'parity' ? runReconstruct(ops, blocks, null) : runCompute(ops, blocks, missing, null, lostData);
      if (tx) txs.push(tx);
    }
    for (const tx of txs) await ops.waitForAsyncTx(tx);
  });
}
