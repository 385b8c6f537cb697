/**
 * Starting figures for the cost model: the start-up kernel benchmark gives
 * each operation's throughput (the same kernels run inline and in the
 * workers), and a doorbell round trip measured on each engine gives its
 * fixed per-descriptor overhead. Core-private.
 */
import { DmaStatus, type Device, type HwOpKind } from '../dmaengine/index.js';
import { kernels } from '../kernels/index.js';
import { INLINE } from './policy.js';
import type { Scheduler } from './scheduler.js';

/** Kernel-set operation → the descriptor kind it serves. */
const KERNEL_FOR_KIND: ReadonlyArray<[string, HwOpKind]> = [
  ['memcpy', 'memcpy'], ['memset', 'memset'], ['xor', 'xor'], ['xorIsZero', 'xor_val'], ['genSyndrome', 'pq'],
  ['pqCheck', 'pq_val'], ['recov2Data', 'raid6_2data'], ['recovDataP', 'raid6_datap'],
];

/**
 * Seeds the inline path and each of `engines` (devices running the same
 * kernels) from the start-up benchmark, then measures a round trip per
 * engine in the background.
 */
export function seedScheduler(scheduler: Scheduler, engines: readonly Device[]): void {
  const table = new Map(kernels().map((k) => [k.op as string, k]));
  for (const [kernelOp, kind] of KERNEL_FOR_KIND) {
    const k = table.get(kernelOp);
    const mbps = k?.mbps[k.impl];
    if (mbps === undefined || !(mbps > 0)) continue;
    scheduler.seed(INLINE, kind, mbps / 1000);
    for (const d of engines) scheduler.seed(d.name, kind, mbps / 1000);
  }
  for (const d of engines) void measureRoundTrip(d).then((ns) => ns > 0 && scheduler.setOverhead(d.name, ns));
}

/** Median submit → completion time of an empty descriptor on a device's first channel, ns (0 if it failed). */
async function measureRoundTrip(device: Device): Promise<number> {
  const chan = device.channels[0];
  if (chan === undefined) return 0;
  const once = (): Promise<number> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const d = chan.prepare({ kind: 'interrupt' }, (x) => resolve(x.status === DmaStatus.Complete ? (performance.now() - t0) * 1e6 : -1));
      if (d === null) return resolve(-1);
      chan.submit(d);
      chan.issuePending();
    });
  // The first trip includes the thread's start-up.
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) samples.push(await once());
  const good = samples.slice(1).filter((x) => x > 0).sort((a, b) => a - b);
  return good.length > 0 ? good[good.length >> 1] : 0;
}
