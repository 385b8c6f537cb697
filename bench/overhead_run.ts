/** The measuring half of `asynctx bench overhead` (see overhead.ts). */
import { loadavg } from 'node:os';
import * as api from '../src/index.js';
import { activeKernels } from '../src/kernels/index.js';
import { cpuPressure, machine, median } from './common.js';
import type { OverheadFlags } from './overhead.js';

export interface OverheadRow {
  op: string;
  blockBytes: number;
  /** µs of this thread's CPU per API call (submit to complete, synchronous path). */
  apiUs: number;
  /** µs per bare kernel call on the same blocks. */
  kernelUs: number;
  overheadUs: number;
}

/** CPU µs per call of `f`, median of `runs` runs of `calls` calls after a warm-up. */
function perCall(f: () => void, calls: number, runs: number): number {
  for (let i = 0; i < calls; i++) f();
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) f();
    const c = process.cpuUsage(c0);
    out.push((c.user + c.system) / calls);
  }
  return median(out);
}

/** Each op as [api call, bare kernel call] on arena blocks of `len` bytes. */
function cases(len: number): Array<[string, () => void, () => void]> {
  const k = activeKernels();
  const b = Array.from({ length: 10 }, () => api.allocBlock(len));
  const data = b.slice(0, 8);
  const [p, q] = [b[8]!, b[9]!];
  const { TxFlags } = api;
  api.asyncGenSyndrome(b, 0, len);
  return [
    ['memcpy', () => api.asyncMemcpy(p, data[0]!, 0, 0, len), () => k.memcpy(p, data[0]!)],
    ['memset', () => api.asyncMemset(p, 7, 0, len), () => k.memset(p, 7)],
    ['xor', () => api.asyncXor(p, data, 0, len, { flags: TxFlags.XorZeroDst }), () => k.xor(p, data)],
    ['xor_val', () => api.asyncXorVal(p, data, 0, len), () => k.xorIsZero([p, ...data])],
    ['pq', () => api.asyncGenSyndrome(b, 0, len), () => k.genSyndrome(data, p, q)],
    ['pq_val', () => api.asyncSyndromeVal(b, 0, len), () => k.pqCheck(data, p, q)],
    ['raid6_2data', () => api.asyncRaid6TwoDataRecov(b, 1, 4, 0, len), () => k.recov2Data(data, p, q, 1, 4)],
    ['raid6_datap', () => api.asyncRaid6DatapRecov(b, 2, 0, len), () => k.recovDataP(data, p, q, 2)],
  ];
}

export async function runOverhead(flags: OverheadFlags): Promise<void> {
  const out = (s: string) => void process.stdout.write(`${s}\n`);
  const rows: OverheadRow[] = [];
  const psi0 = cpuPressure();
  const load0 = loadavg();
  // Every path compiled by the JIT before anything is timed.
  for (const [, call, bare] of cases(4096)) for (let i = 0; i < 20000; i++) (call(), bare());
  for (const len of [512, 4096, 65536]) {
    const calls = Math.max(200, Math.floor((flags.quick ? 2e6 : 8e6) / (len + 4096)));
    for (const [op, call, bare] of cases(len)) {
      const apiUs = perCall(call, calls, flags.quick ? 5 : 9);
      const kernelUs = perCall(bare, calls, flags.quick ? 5 : 9);
      rows.push({ op, blockBytes: len, apiUs, kernelUs, overheadUs: apiUs - kernelUs });
    }
  }
  if (flags.json) {
    for (const r of rows) out(JSON.stringify(r));
    return;
  }
  out(`asynctx bench overhead: synchronous path, arena blocks, 8 sources; µs of CPU per call, median of runs`);
  out(`machine: ${machine()}; load average ${load0.map((x) => x.toFixed(2)).join(' ')}; ${psi0}`);
  out(`${'op'.padEnd(12)} ${'block'.padStart(6)} ${'api µs'.padStart(8)} ${'kernel µs'.padStart(10)} ${'overhead µs'.padStart(12)}`);
  for (const r of rows) {
    const size = r.blockBytes >= 1024 ? `${r.blockBytes / 1024}K` : `${r.blockBytes}`;
    out(`${r.op.padEnd(12)} ${size.padStart(6)} ${r.apiUs.toFixed(2).padStart(8)} ${r.kernelUs.toFixed(2).padStart(10)} ${r.overheadUs.toFixed(2).padStart(12)}`);
  }
  const worst = Math.max(...rows.filter((r) => r.blockBytes === 4096).map((r) => r.overheadUs));
  out(`target: overhead <= 1 µs per call at 4 KiB, any op: ${worst <= 1 ? 'MET' : 'NOT MET'} (worst ${worst.toFixed(2)} µs)`);
  out(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${cpuPressure()}`);
}
