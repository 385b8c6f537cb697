/**
 * The peer row of `asynctx bench`: @ronomon/reed-solomon (a native addon,
 * Cauchy Reed-Solomon) encoding 8 data + 2 parity shards. Not a dependency:
 * it is used when the user installed it, so a failed native build can never
 * break asynctx's install. Throughput only: its parity is not RAID-6 Q.
 */
import { createRequire } from 'node:module';
import { stopwatch, type BenchClock, type BenchRow } from './kernel_run.js';
import { PEER_NAME } from './kernel_ops.js';

export { PEER_NAME } from './kernel_ops.js';

type Callback = (error?: Error | null) => void;
interface RonomonRS {
  create(k: number, m: number): unknown;
  encode(
    context: unknown, sources: number, targets: number, buffer: Buffer, bufferOffset: number, bufferSize: number,
    parity: Buffer, parityOffset: number, paritySize: number, callback: Callback,
  ): void;
}

function load(): RonomonRS | null {
  try {
    const rs: unknown = createRequire(import.meta.url)(PEER_NAME);
    const r = rs as Partial<RonomonRS>;
    return typeof r.create === 'function' && typeof r.encode === 'function' ? (rs as RonomonRS) : null;
  } catch {
    return null;
  }
}

/**
 * Measures k+m encode of `shard`-byte shards, one call in flight (it runs on
 * libuv's thread pool), as the median of `runs` runs of `runMs` after `warmMs`.
 * Returns null when the peer is not installed.
 */
export async function peerRow(
  plan: { warmMs: number; runs: number; runMs: number; clock: BenchClock },
  k = 8,
  m = 2,
  shard = 65536,
): Promise<BenchRow | null> {
  const rs = load();
  if (rs === null) return null;
  const context = rs.create(k, m);
  const data = Buffer.alloc(shard * k);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
  const parity = Buffer.alloc(shard * m);
  const sources = (1 << k) - 1;
  const targets = ((1 << m) - 1) << k;
  const encode = (): Promise<void> =>
    new Promise((resolve, reject) =>
      rs.encode(context, sources, targets, data, 0, data.length, parity, 0, parity.length, (err) => (err ? reject(err) : resolve())),
    );
  const until = async (ms: number): Promise<{ calls: number; ms: number }> => {
    const elapsed = stopwatch(plan.clock);
    const t0 = performance.now();
    let calls = 0;
    do {
      await encode();
      calls++;
    } while (performance.now() - t0 < ms);
    return { calls, ms: Math.max(1e-3, elapsed()) };
  };
  await until(plan.warmMs);
  const rates: number[] = [];
  for (let r = 0; r < plan.runs; r++) {
    const { calls, ms } = await until(plan.runMs);
    rates.push((calls * k * shard) / (ms * 1e6));
  }
  rates.sort((a, b) => a - b);
  const gbps = Math.round(rates[rates.length >> 1] * 100) / 100;
  return { op: 'pq', impl: `${PEER_NAME} ${k}+${m}`, blockBytes: shard, sources: k, mode: 'hot', gbps, selected: false };
}
