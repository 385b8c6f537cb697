/**
 * `asynctx stats`: runs a short mixed workload on a client with engines
 * (optionally under injected faults) and prints what the client counted —
 * per operation, per channel, and the scheduler's cost model — as a table or
 * JSON. It shows where work ran and what failover did, on this machine.
 * The library is loaded when the command runs, not when it is registered.
 */
import { InvalidArgumentError, type Command } from './commander.js';
import type { EngineStats } from '../client.js';
import type { Tx } from '../async_tx/index.js';

interface StatsFlags {
  workers: number;
  policy: 'auto' | 'inline' | 'offload';
  ops: number;
  fail: number;
  json?: boolean;
}

const SIZES = [4096, 65536, 1 << 20];

async function workload(flags: StatsFlags): Promise<EngineStats> {
  const [{ createClient }, { TxFlags }] = await Promise.all([import('../client.js'), import('../async_tx/index.js')]);
  const c = createClient({ workers: flags.workers, policy: flags.policy, ...(flags.fail > 0 ? { faults: { seed: 1, fail: flags.fail } } : {}) });
  // One stripe per (operation, size); steps on one stripe are chained, so none overlaps another.
  const stripes = Array.from({ length: 3 * SIZES.length }, (_, j) => Array.from({ length: 8 }, (_, i) => c.allocBlock(SIZES[j % SIZES.length]).fill(i * 17 + 1)));
  try {
    const prev: Array<Tx | undefined> = new Array(stripes.length);
    for (let i = 0; i < flags.ops; i++) {
      const op = i % 3;
      const j = op * SIZES.length + (Math.floor(i / 3) % SIZES.length);
      const blocks = stripes[j];
      const len = SIZES[j % SIZES.length];
      const submit = { depend: prev[j] };
      if (op === 0) prev[j] = c.asyncGenSyndrome(blocks, 0, len, submit);
      else if (op === 1) prev[j] = c.asyncXor(blocks[6], blocks.slice(0, 6), 0, len, { ...submit, flags: TxFlags.XorZeroDst });
      else prev[j] = c.asyncRaid6TwoDataRecov(blocks, 0, 1, 0, len, submit);
    }
    await Promise.all(prev.map((t) => (t === undefined ? undefined : c.waitForAsyncTx(t))));
    return c.stats();
  } finally {
    for (const b of stripes.flat()) c.freeBlock(b);
    await c.close();
  }
}

/** The stats as text: one table per view. */
export function formatStats(s: EngineStats): string {
  const lines: string[] = [];
  lines.push(`operations (policy ${s.scheduler.policy}):`);
  lines.push(`  ${'op'.padEnd(12)} ${'done'.padStart(7)} ${'inline'.padStart(7)} ${'offload'.padStart(7)} ${'errors'.padStart(6)} ${'failover'.padStart(8)} ${'MB'.padStart(9)}`);
  for (const [op, c] of Object.entries(s.ops)) {
    const fo = s.scheduler.ops[op]?.failovers ?? 0;
    lines.push(`  ${op.padEnd(12)} ${String(c.completed).padStart(7)} ${String(c.inline).padStart(7)} ${String(c.offloaded).padStart(7)} ${String(c.errors).padStart(6)} ${String(fo).padStart(8)} ${(c.bytes / 1e6).toFixed(1).padStart(9)}`);
  }
  lines.push('channels:');
  lines.push(`  ${'channel'.padEnd(26)} ${'ops'.padStart(6)} ${'MB'.padStart(9)} ${'errors'.padStart(6)} ${'failover'.padStart(8)} ${'timeouts'.padStart(8)} ${'queue hwm'.padStart(9)} ${'busy ms'.padStart(8)}`);
  for (const [name, c] of Object.entries(s.scheduler.channels)) {
    lines.push(`  ${name.padEnd(26)} ${String(c.ops).padStart(6)} ${(c.bytes / 1e6).toFixed(1).padStart(9)} ${String(c.errors).padStart(6)} ${String(c.failovers).padStart(8)} ${String(c.timeouts).padStart(8)} ${String(c.queueHighWater).padStart(9)} ${c.busyMs.toFixed(1).padStart(8)}`);
  }
  const rings = Object.entries(s.channels);
  if (rings.length > 0) {
    lines.push('worker rings:');
    for (const [name, r] of rings) lines.push(`  ${name.padEnd(26)} doorbells ${r.doorbells}, wake-ups ${r.wakeups}, notices ${r.notices}, ring full ${r.ringFull}`);
  }
  lines.push(`mapping: ${s.mapping.inPlace} blocks in place, ${s.mapping.bounced} bounced; respawned threads: ${s.respawned}`);
  if (s.faults !== undefined) for (const [d, f] of Object.entries(s.faults)) lines.push(`faults injected by ${d}: ${f.failed} failed, ${f.delayed} delayed, ${f.crashed} crashed`);
  lines.push('cost model (GB/s, samples):');
  for (const r of s.scheduler.model.filter((m) => m.samples > 0)) lines.push(`  ${r.engine.padEnd(10)} ${r.op.padEnd(12)} ${r.sizeClass.padEnd(6)} ${r.gbps.toFixed(2).padStart(8)} ${String(r.samples).padStart(6)}`);
  return lines.join('\n');
}

function intOption(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}`);
    return n;
  };
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('run a short mixed workload (P+Q, xor, 2-data recovery at 4K, 64K, 1M) on a client with engines and print its statistics')
    .option('--workers <n>', 'worker threads', intOption('--workers', 0, 64), 2)
    .option('--policy <name>', 'auto, inline or offload', (v: string) => {
      if (v !== 'auto' && v !== 'inline' && v !== 'offload') throw new InvalidArgumentError('--policy must be auto, inline or offload');
      return v;
    }, 'auto')
    .option('--ops <n>', 'operations to run', intOption('--ops', 1, 10_000_000), 3000)
    .option('--fail <p>', 'inject engine failures with this probability per descriptor (they fail over)', (v: string) => {
      const p = Number(v);
      if (!(p >= 0 && p <= 1)) throw new InvalidArgumentError('--fail must be a probability 0..1');
      return p;
    }, 0)
    .option('--json', 'print client.stats() as JSON')
    .action(async (flags: StatsFlags) => {
      const s = await workload(flags);
      console.log(flags.json ? JSON.stringify(s, null, 2) : formatStats(s));
    });
}
