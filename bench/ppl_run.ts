/**
 * The measuring half of `asynctx bench ppl`: two RAID-5 arrays of one shape on
 * member files, consistency policy resync and ppl; per run, every case on
 * each, in turn, so a ratio compares passes the machine saw alike. The
 * overhead is 1 − ppl / resync of the median throughputs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble, create, FileMember, type RaidArray } from '../src/raid/index.js';
import { engineFor, type Engine } from '../src/cli/engine.js';
import { fill } from '../src/cli/workload.js';
import { cpuPressure, machine, median, prng } from './common.js';
import { measure, streamsPass, type Sample } from './headline_run.js';
import type { PplBenchFlags } from './ppl.js';

const CHUNK = 512 * 1024;
const STREAMS = 4;
const POLICIES = ['resync', 'ppl'] as const;
type Policy = (typeof POLICIES)[number];
/**
 * Every pass but `-cached` ends with array.flush(): the log's own writes and flushes are durable
 * ones, so a fair baseline makes its data durable too (on real disks it would be written anyway).
 * `full-stripe-cached` leaves the resync array's data in the page cache: the cost of durability, not of the log.
 * `full-stripe-writethrough` opens every member O_DSYNC (a disk without a volatile write cache, the
 * setting of md's own figure): every write of both arrays is durable as it completes, so what
 * differs is the log alone.
 */
const CASES = ['full-stripe', 'full-stripe-cached', 'full-stripe-writethrough', 'seq-128K', 'random-4K'] as const;
type CaseName = (typeof CASES)[number];

interface Rig {
  readonly policy: Policy;
  readonly dir: string;
  readonly paths: string[];
  /** Array bytes used: whole stripes. */
  readonly size: number;
}

export interface PplRow {
  case: CaseName;
  policy: Policy;
  requestBytes: number;
  mbps: number;
  mbpsMin: number;
  mbpsMax: number;
  mainMsPerMB: number | null;
  /** ppl rows: 1 − ppl/resync of the medians (what the log costs); resync rows: null. */
  overhead: number | null;
  runs: number;
}

function requestBytes(c: CaseName, stripe: number): number {
  return c === 'seq-128K' ? 128 * 1024 : c === 'random-4K' ? 4096 : stripe;
}

async function makeRig(policy: Policy, members: number, dataBytes: number, root: string | undefined): Promise<Rig> {
  const dir = await mkdtemp(join(root ?? tmpdir(), `asynctx-bench-ppl-${policy}-`));
  const component = Math.ceil(dataBytes / (members - 1) / CHUNK) * CHUNK;
  // Room for mdadm's data offset, and the PPL's 1 MiB before it.
  const paths = Array.from({ length: members }, (_, i) => join(dir, `m${i}.img`));
  const files = await Promise.all(paths.map((p) => FileMember.create(p, component + (16 << 20))));
  const array = await create(files, { level: 5, chunkBytes: CHUNK, assumeClean: true, consistencyPolicy: policy, name: `bench-${policy}` });
  const size = Math.floor(array.size / ((members - 1) * CHUNK)) * (members - 1) * CHUNK;
  await array.stop();
  await Promise.all(files.map((f) => f.close()));
  return { policy, dir, paths, size };
}

async function open(rig: Rig, engine: Engine, writeThrough = false): Promise<RaidArray> {
  const members = await Promise.all(rig.paths.map((p) => FileMember.open(p, { writeThrough })));
  return (await assemble(members, { ops: engine.ops, ownsMembers: true })).array;
}

/** Bytes a case moves and the pass that moves them: `streams` writers, each in its own region (sequential) or anywhere (random). */
function pass(c: CaseName, rig: Rig, stripe: number, bytes: number, src: readonly Uint8Array[], run: number): { moved: number; bs: number; go: (a: RaidArray) => Promise<void> } {
  const bs = requestBytes(c, stripe);
  const moved = c === 'random-4K' ? Math.floor(bytes / 16) : bytes;
  const per = Math.max(1, Math.floor(moved / bs / STREAMS));
  const region = Math.floor(rig.size / STREAMS / stripe) * stripe;
  const slots = Math.floor(rig.size / bs);
  const rand = Array.from({ length: STREAMS }, (_, s) => prng(7919 * run + s + 1));
  const at = (s: number, i: number) => (c === 'random-4K' ? Math.floor(rand[s]!() * slots) * bs : s * region + ((i * bs) % region));
  return {
    moved: per * STREAMS * bs,
    bs,
    go: async (a) => {
      await streamsPass(STREAMS, per, (s, i) => a.write(src[s]!.subarray(0, bs), at(s, i)));
      await a.drain();
      if (c !== 'full-stripe-cached') await a.flush();
    },
  };
}

export async function runPplBench(flags: PplBenchFlags): Promise<void> {
  if (!Number.isInteger(flags.members) || flags.members < 3 || flags.members > 16) throw new Error(`--members must be 3 to 16, not ${flags.members}`);
  const runs = flags.quick ? 3 : 5;
  const bytes = flags.size ?? (flags.quick ? 32 << 20 : 128 << 20);
  const stripe = (flags.members - 1) * CHUNK;
  const out = (s: string) => void (flags.json ? process.stderr : process.stdout).write(s + '\n');
  const load0 = loadavg();
  out(`asynctx bench ppl: RAID-5, ${flags.members} members, ${CHUNK / 1024} KiB chunk (full stripe ${stripe / 1024} KiB), ${STREAMS} streams, ${runs} runs`);
  out(`machine: ${machine()}; load average ${load0.map((x) => x.toFixed(2)).join(' ')}; ${cpuPressure()}`);
  const engine = engineFor({ workers: flags.workers });
  const src = Array.from({ length: STREAMS }, (_, s) => {
    const b = engine.ops.allocBlock(stripe);
    fill(b, s + 1);
    return b;
  });
  const rigs: Rig[] = [];
  const samples = new Map<string, Sample[]>();
  try {
    for (const p of POLICIES) rigs.push(await makeRig(p, flags.members, bytes * 2, flags.dir));
    // Untimed: every block written once, so timed passes overwrite allocated file blocks.
    for (const rig of rigs) {
      const a = await open(rig, engine);
      await streamsPass(STREAMS, Math.ceil(rig.size / stripe / STREAMS), (s, i) => {
        const pos = (i * STREAMS + s) * stripe;
        return pos < rig.size ? a.write(src[s]!, pos) : Promise.resolve();
      }).finally(() => a.stop());
    }
    for (let r = 0; r < runs; r++) {
      for (const c of CASES) {
        for (const rig of rigs) {
          const { moved, go } = pass(c, rig, stripe, bytes, src, r);
          const a = await open(rig, engine, c === 'full-stripe-writethrough');
          const s = await measure(moved, () => go(a)).finally(() => a.stop());
          const key = `${c}/${rig.policy}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
          process.stderr.write(`\r${' '.repeat(60)}\rrun ${r + 1}/${runs} ${c} ${rig.policy}: ${s.mbps.toFixed(0)} MB/s`);
        }
      }
    }
    process.stderr.write('\n');
  } finally {
    for (const b of src) engine.ops.freeBlock(b);
    await engine.close();
    for (const rig of rigs) await rm(rig.dir, { recursive: true, force: true });
  }
  report(flags, rows(samples, stripe), out, engine.label);
}

function rows(samples: Map<string, Sample[]>, stripe: number): PplRow[] {
  const out: PplRow[] = [];
  for (const c of CASES) {
    const base = median(samples.get(`${c}/resync`)!.map((s) => s.mbps));
    for (const policy of POLICIES) {
      const s = samples.get(`${c}/${policy}`)!;
      const mbps = median(s.map((x) => x.mbps));
      out.push({
        case: c,
        policy,
        requestBytes: requestBytes(c, stripe),
        mbps,
        mbpsMin: Math.min(...s.map((x) => x.mbps)),
        mbpsMax: Math.max(...s.map((x) => x.mbps)),
        mainMsPerMB: s.some((x) => x.mainMsPerMB === null) ? null : median(s.map((x) => x.mainMsPerMB!)),
        overhead: policy === 'ppl' ? 1 - mbps / base : null,
        runs: s.length,
      });
    }
  }
  return out;
}

function report(flags: PplBenchFlags, table: PplRow[], out: (s: string) => void, engines: string): void {
  if (flags.json) {
    for (const r of table) process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    out(`engines: ${engines}; MB/s of array data, median (min-max) of the runs`);
    out('case                      request   policy        MB/s (min-max)     main ms/MB  PPL overhead');
    for (const r of table) {
      const range = `${r.mbps.toFixed(0)} (${r.mbpsMin.toFixed(0)}-${r.mbpsMax.toFixed(0)})`;
      const ov = r.overhead === null ? '' : `${(r.overhead * 100).toFixed(1)} %`;
      out(`${r.case.padEnd(25)} ${`${r.requestBytes / 1024}K`.padStart(7)}   ${r.policy.padEnd(8)} ${range.padStart(20)} ${(r.mainMsPerMB?.toFixed(2) ?? '-').padStart(12)}  ${ov}`);
    }
  }
  const full = table.find((r) => r.case === 'full-stripe' && r.policy === 'ppl')!;
  out('every pass ends with a flush (data durable) but full-stripe-cached, whose resync array leaves it in the page cache;');
  out('full-stripe-writethrough: members opened O_DSYNC, every write durable as it completes (no volatile cache, md\'s setting)');
  out(`target: PPL overhead on sequential full-stripe writes <= 10%: ${full.overhead! <= 0.1 ? 'MET' : 'NOT MET'} (${(full.overhead! * 100).toFixed(1)} %)`);
  out(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${cpuPressure()}`);
}
