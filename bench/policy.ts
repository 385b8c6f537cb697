/**
 * `asynctx bench --policy`: what the scheduler's 'auto' placement buys, as
 * ratios measured in one run against the fixed policies on the same client
 * shape (N workers):
 * 1. 4 KiB operations: auto's rate vs inline's (target ≥ 0.95: they stay inline);
 * 2. 1 MiB P+Q (8 data blocks): auto vs the better of inline and offload, and
 *    main-thread CPU share (target: ≥ the better, with offload's CPU);
 * 3. a mixed workload per size class (xor, pq, recovery; chains of 1–6 steps):
 *    auto within 10 % of the best fixed policy in every class.
 */
import { createClient, type AsyncTxClient } from '../src/client.js';
import { TxFlags, type Tx } from '../src/async_tx/index.js';
import { threadCpuNs } from '../src/cli/workload.js';

export interface PolicyBenchOptions {
  readonly workers: number;
  readonly quick: boolean;
}

export interface PolicyRow {
  readonly case: string;
  readonly policy: 'inline' | 'offload' | 'auto';
  readonly mbps: number;
  /** Main thread's own CPU time over wall time. */
  readonly mainThreadCpu: number;
}

export interface PolicyVerdict {
  readonly name: string;
  readonly value: number;
  readonly target: string;
  readonly met: boolean;
}

type Policy = PolicyRow['policy'];
const POLICIES: readonly Policy[] = ['inline', 'offload', 'auto'];

/** A deterministic generator for the mixed workload (the same steps for every policy). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** One chain of the workload: steps over `blocks` (data…, P, Q) of `len` bytes. */
function chain(c: AsyncTxClient, blocks: Uint8Array[], len: number, steps: number, pick: () => number, done: () => void): number {
  const n = blocks.length;
  let tx: Tx | undefined;
  let bytes = 0;
  for (let s = 0; s < steps; s++) {
    const last = s === steps - 1;
    const submit = { depend: tx, callback: last ? done : undefined };
    const kind = Math.floor(pick() * 3);
    if (kind === 0) {
      tx = c.asyncXor(blocks[n - 2], blocks.slice(0, n - 2), 0, len, { ...submit, flags: TxFlags.XorZeroDst });
      bytes += len * (n - 2);
    } else if (kind === 1) {
      tx = c.asyncGenSyndrome(blocks, 0, len, submit);
      bytes += len * (n - 2);
    } else {
      tx = c.asyncRaid6TwoDataRecov(blocks, 0, 1, 0, len, submit);
      bytes += len * (n - 2);
    }
  }
  return bytes;
}

/** Keeps `window` chains in flight for `ms`; returns MB/s of source data and main-thread CPU share. */
function drive(c: AsyncTxClient, ms: number, window: number, start: (done: () => void) => number): Promise<{ mbps: number; cpu: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let inFlight = 0;
    let stopped = false;
    const cpu0 = threadCpuNs() ?? 0;
    const t0 = performance.now();
    const finish = (): void => {
      const wall = performance.now() - t0;
      const cpu = ((threadCpuNs() ?? 0) - cpu0) / 1e6 / wall;
      resolve({ mbps: bytes / 1e6 / (wall / 1000), cpu });
    };
    const launch = (): void => {
      while (!stopped && inFlight < window) {
        inFlight++;
        bytes += start(() => {
          inFlight--;
          if (performance.now() - t0 >= ms) stopped = true;
          if (stopped) {
            if (inFlight === 0) finish();
          } else launch();
        });
      }
      c.asyncTxIssuePendingAll();
    };
    launch();
  });
}

async function measure(workers: number, policy: Policy, ms: number, window: number, len: number, data: number, chainMax: number): Promise<{ mbps: number; cpu: number }> {
  const c = createClient({ workers, policy });
  // Each chain in flight has its own stripe, so no two chains write the same blocks.
  const stripes = Array.from({ length: window }, () => Array.from({ length: data + 2 }, (_, i) => c.allocBlock(len).fill(i + 1)));
  try {
    let next = 0;
    const pick = rng(len + data);
    // Warm-up: the cost model learns from what completes.
    await drive(c, Math.min(200, ms / 2), window, (done) => chain(c, stripes[next++ % window], len, 1 + Math.floor(pick() * chainMax), pick, done));
    return await drive(c, ms, window, (done) => chain(c, stripes[next++ % window], len, 1 + Math.floor(pick() * chainMax), pick, done));
  } finally {
    // drive() returned with nothing in flight: the blocks are free to go.
    for (const b of stripes.flat()) c.freeBlock(b);
    await c.close();
  }
}

export async function runPolicyBench(o: PolicyBenchOptions): Promise<{ rows: PolicyRow[]; verdicts: PolicyVerdict[] }> {
  const ms = o.quick ? 300 : 1000;
  const rows: PolicyRow[] = [];
  const verdicts: PolicyVerdict[] = [];
  const rounds = o.quick ? 3 : 5;
  const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  // Policies interleaved round by round, the median kept: the machine's other load hits all alike.
  const run = async (name: string, len: number, data: number, chainMax: number, window: number): Promise<Record<Policy, { mbps: number; cpu: number }>> => {
    const seen = Object.fromEntries(POLICIES.map((p) => [p, [] as Array<{ mbps: number; cpu: number }>])) as Record<Policy, Array<{ mbps: number; cpu: number }>>;
    for (let r = 0; r < rounds; r++) for (const p of POLICIES) seen[p].push(await measure(o.workers, p, ms, window, len, data, chainMax));
    const out = {} as Record<Policy, { mbps: number; cpu: number }>;
    for (const p of POLICIES) {
      out[p] = { mbps: median(seen[p].map((x) => x.mbps)), cpu: median(seen[p].map((x) => x.cpu)) };
      rows.push({ case: name, policy: p, mbps: Math.round(out[p].mbps), mainThreadCpu: Number(out[p].cpu.toFixed(3)) });
    }
    return out;
  };

  const small = await run('4K xor/pq/recov, 1 step', 4096, 2, 1, 16);
  const r1 = small.auto.mbps / small.inline.mbps;
  verdicts.push({ name: '4 KiB ops: auto / inline rate', value: r1, target: '≥ 0.95', met: r1 >= 0.95 });

  const big = await run('1M P+Q stripes (8 data)', 1 << 20, 8, 1, 4);
  const better = Math.max(big.inline.mbps, big.offload.mbps);
  const r2 = big.auto.mbps / better;
  verdicts.push({ name: '1 MiB P+Q: auto / better of inline and offload', value: r2, target: '≥ 1.0 (within noise)', met: r2 >= 0.95 });
  verdicts.push({ name: '1 MiB P+Q: auto main-thread CPU − offload\'s', value: big.auto.cpu - big.offload.cpu, target: '≤ 0.05', met: big.auto.cpu - big.offload.cpu <= 0.05 });

  for (const [label, len] of [['4K', 4096], ['64K', 65536], ['256K', 262144], ['1M', 1 << 20]] as const) {
    const mixed = await run(`mixed ${label}, chains 1-6`, len, 6, 6, len >= 262144 ? 4 : 16);
    const best = Math.max(mixed.inline.mbps, mixed.offload.mbps);
    const r = mixed.auto.mbps / best;
    verdicts.push({ name: `mixed ${label}: auto / best fixed policy`, value: r, target: '≥ 0.90', met: r >= 0.9 });
  }
  return { rows, verdicts };
}

export function printPolicyBench(r: { rows: PolicyRow[]; verdicts: PolicyVerdict[] }, workers: number): void {
  console.log(`policy benchmark: ${workers} workers; MB/s of source data; main-thread CPU = this thread's CPU time / wall time`);
  console.log(`${'case'.padEnd(30)} ${'policy'.padEnd(8)} ${'MB/s'.padStart(8)} ${'main CPU'.padStart(9)}`);
  for (const row of r.rows) console.log(`${row.case.padEnd(30)} ${row.policy.padEnd(8)} ${String(row.mbps).padStart(8)} ${(row.mainThreadCpu * 100).toFixed(1).padStart(8)}%`);
  console.log('');
  for (const v of r.verdicts) console.log(`${v.met ? 'met ' : 'MISS'}  ${v.name}: ${v.value.toFixed(3)} (target ${v.target})`);
}
