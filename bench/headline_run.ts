/**
 * The measuring half of `asynctx bench headline`: the async_tx paper's
 * experiment (md raid5 under tiobench, offload engines against the synchronous
 * path) on our arrays. Per level, one set of member files; per request size,
 * several concurrent streams (tiobench's threads, one request in flight each);
 * per run, every case once with the inline client and once with worker engines
 * under policy 'auto', interleaved so both see the same machine load.
 *
 * Timing and CPU per pass: wall time of the pass only, the main thread's own
 * CPU and its wait for a CPU (schedstat of this thread), the other threads'
 * waits, and the process's CPU. The waits say whether a ratio was decided by
 * the work or by other processes holding the cores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { freemem, tmpdir, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { assemble, create, defaultDataOffset, FileMember, resync, scrub, SECTOR, type RaidArray, type RaidOps } from '../src/raid/index.js';
import { dropCache } from './raid_run.js';
import { median, othersDelay, prng, schedstat } from './common.js';
import { engineFor, type Engine } from '../src/cli/engine.js';
import { fill } from '../src/cli/workload.js';

export const CASES = ['seq-write', 'raw-write', 'seq-read', 'raw-read', 'degraded-read-1', 'degraded-read-2', 'random-rw', 'resync', 'check'] as const;
export type CaseName = (typeof CASES)[number];
export type PolicyLabel = 'inline' | 'auto';
/** How stripes reach members (RaidArrayOptions.memberIo). */
export type MemberIo = 'chain' | 'queue';

export interface HeadlinePlan {
  /** RAID levels with their member counts. */
  readonly levels: ReadonlyArray<{ level: 5 | 6; members: number }>;
  /** Request sizes of the streaming cases. */
  readonly blockSizes: readonly number[];
  /** Concurrent streams (tiobench threads), one request in flight each. */
  readonly streams: number;
  readonly runs: number;
  /** Array data bytes per level (the member files hold this much data); 128 KiB passes cover all of it. */
  readonly dataBytes: number;
  readonly chunk: number;
  readonly workers: number | 'auto';
  /** Drop the member files from the page cache before each read pass (and sync after each write pass). */
  readonly cold: boolean;
  readonly dir?: string;
  /** How the arrays reach their members (default 'chain'). */
  readonly memberIo?: MemberIo;
  /** Called once per measured sample, for progress output. */
  readonly onSample?: (label: string) => void;
}

export interface HeadlineRow {
  case: CaseName;
  level: 5 | 6;
  blockBytes: number;
  policy: PolicyLabel;
  /** Median of the runs, data bytes / s / 1e6 (resync and check: array data covered per second). */
  mbps: number;
  mbpsMin: number;
  mbpsMax: number;
  /** Median main-thread CPU share (0..1), null where the OS does not say. */
  mainThreadCpu: number | null;
  /** Median whole-process CPU (cores busy: workers and libuv's pool included). */
  processCpu: number;
  /** Median share of wall time the main thread waited for a CPU (runnable, not running): machine contention. */
  mainThreadWait: number | null;
  /** Median of the other threads' summed waits for a CPU, over wall time (threads waiting, on average). */
  othersWait: number | null;
  runs: number;
  /** What the engine was: "inline (no workers)" or "N workers, policy auto". */
  engines: string;
  /** Median event-loop delay during the pass, p50 and p99, ms (what a service on the same thread feels). */
  loopP50Ms: number;
  loopP99Ms: number;
  /** Median main-thread CPU milliseconds per MB of array data, null where the OS does not say. */
  mainMsPerMB: number | null;
}

export interface HeadlineResult {
  rows: HeadlineRow[];
  pageCache: { canHide: boolean; memberBytes: number; freeRam: number; totalRam: number; cold: boolean; text: string };
  seconds: number;
}

/** One timed pass: throughput, and where the CPU time went (shares of wall time; null where Linux schedstat is missing). */
export interface Sample {
  mbps: number;
  mainCpu: number | null;
  /** Main thread runnable but waiting for a CPU (schedstat run_delay): how much the machine's load held it back. */
  mainWait: number | null;
  /** The other threads' (workers, libuv pool) summed run_delay: threads waiting for a CPU, on average. */
  othersWait: number | null;
  /** Whole-process CPU, in cores. */
  processCpu: number;
  loopP50Ms: number;
  loopP99Ms: number;
  /** Main-thread CPU ms per MB moved. */
  mainMsPerMB: number | null;
}

/** Times `pass` (moving `bytes`): wall, the main thread's CPU and run delay, the other threads' run delay, process CPU. */
export async function measure(bytes: number, pass: () => Promise<void>): Promise<Sample> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const o0 = othersDelay();
  const m0 = schedstat('/proc/thread-self/schedstat');
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await pass();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m1 = schedstat('/proc/thread-self/schedstat');
  const c = process.cpuUsage(c0);
  const o1 = othersDelay();
  loop.disable();
  let others = 0;
  for (const [tid, d] of o1) others += d - (o0.get(tid) ?? d);
  const known = m0 !== null && m1 !== null;
  return {
    mbps: bytes / wall / 1e6,
    mainCpu: known ? (m1[0] - m0[0]) / 1e9 / wall : null,
    mainWait: known ? (m1[1] - m0[1]) / 1e9 / wall : null,
    othersWait: o1.size > 0 ? others / 1e9 / wall : null,
    processCpu: (c.user + c.system) / 1e6 / wall,
    loopP50Ms: loop.percentile(50) / 1e6,
    loopP99Ms: loop.percentile(99) / 1e6,
    mainMsPerMB: known ? (m1[0] - m0[0]) / 1e6 / (bytes / 1e6) : null,
  };
}

/**
 * The machine's own I/O path for the same work: positional writes or reads of the member bytes a
 * pass moves (`bytes` of array data → bytes × members / data members), to the same files, with the
 * same request size and the same number of requests in flight, from this thread. Reported as array
 * data per second, so an array figure divided by it is the share of the I/O path the array reaches.
 */
function rawPass(files: readonly FileMember[], base: number, write: boolean, bytes: number, bs: number, streams: number, dataDisks: number, bufs: readonly Uint8Array[]): () => Promise<void> {
  const n = files.length;
  const requests = Math.ceil((bytes * n) / dataDisks / bs);
  return () =>
    streamsPass(streams, Math.ceil(requests / streams), async (s, i) => {
      const k = i * streams + s;
      if (k >= requests) return;
      const f = files[k % n]!;
      const pos = base + Math.floor(k / n) * bs;
      await (write ? f.write(bufs[s]!.subarray(0, bs), pos) : f.read(bufs[s]!.subarray(0, bs), pos));
    });
}

/** `streams` concurrent loops, stream s doing requests 0..perStream-1 in order. */
export function streamsPass(streams: number, perStream: number, request: (s: number, i: number) => Promise<void>): Promise<void> {
  return Promise.all(
    Array.from({ length: streams }, async (_, s) => {
      for (let i = 0; i < perStream; i++) await request(s, i);
    }),
  ).then(() => undefined);
}

/** Bytes the 4 KiB passes move: per-request costs dominate there, so they move less data to keep the run short. */
export function passBytes(plan: HeadlinePlan, blockBytes: number, random: boolean): number {
  const scale = blockBytes < 65536 ? 8 : 1;
  return Math.floor(plan.dataBytes / scale / (random ? 2 : 1));
}

/** What every level's passes share: the plan, the engines, the request buffers, and where samples go. */
interface Bench {
  plan: HeadlinePlan;
  inline: Engine;
  engines: ReadonlyArray<{ policy: PolicyLabel; engine: Engine }>;
  /** Write sources, 4 per stream, in the shared arena. */
  src: Uint8Array[];
  /** Read targets, one per stream, in the shared arena. */
  dst: Uint8Array[];
  maxBlock: number;
  record: (c: CaseName, level: 5 | 6, blockBytes: number, policy: PolicyLabel, label: string, s: Sample) => void;
}

/** One level's member files and the array geometry the passes need. */
interface LevelRig {
  b: Bench;
  level: 5 | 6;
  /** Members. */
  n: number;
  dataDisks: number;
  /** Bytes of the member files before the data (mdadm's data offset). */
  base: number;
  /** Array bytes the streaming passes use: whole maxBlock requests. */
  size: number;
  paths: string[];
  files: FileMember[];
}

type SampleMap = Map<string, { row: Pick<HeadlineRow, 'case' | 'level' | 'blockBytes' | 'policy' | 'engines'>; s: Sample[] }>;

export async function runHeadline(plan: HeadlinePlan): Promise<HeadlineResult> {
  const t0 = Date.now();
  const inline = engineFor({ workers: 0 });
  const engines: Array<{ policy: PolicyLabel; engine: Engine }> = [{ policy: 'inline', engine: inline }];
  const samples: SampleMap = new Map();
  const record = (c: CaseName, level: 5 | 6, blockBytes: number, policy: PolicyLabel, label: string, s: Sample) => {
    const key = `${c}/${level}/${blockBytes}/${policy}`;
    if (!samples.has(key)) samples.set(key, { row: { case: c, level, blockBytes, policy, engines: label }, s: [] });
    samples.get(key)!.s.push(s);
    plan.onSample?.(`${c} raid${level} ${blockBytes / 1024}K ${policy}: ${s.mbps.toFixed(0)} MB/s`);
  };
  let memberTotal = 0;
  const blocks: Uint8Array[] = [];
  try {
    engines.push({ policy: 'auto', engine: engineFor({ workers: plan.workers, policy: 'auto' }) });
    const maxBlock = Math.max(...plan.blockSizes);
    // Per stream: a write source and a read target in the shared arena (every engine uses them in place).
    const src = Array.from({ length: plan.streams * 4 }, (_, i) => {
      const b = inline.ops.allocBlock(maxBlock);
      fill(b, i + 1);
      blocks.push(b);
      return b;
    });
    const dst = Array.from({ length: plan.streams }, () => {
      const b = inline.ops.allocBlock(maxBlock);
      blocks.push(b);
      return b;
    });
    const bench: Bench = { plan, inline, engines, src, dst, maxBlock, record };
    for (const { level, members: n } of plan.levels) memberTotal = Math.max(memberTotal, await runLevel(bench, level, n));
  } finally {
    for (const b of blocks) inline.ops.freeBlock(b);
    for (const e of engines) await e.engine.close();
  }
  const rows = rowsOf(samples);
  return { rows, pageCache: pageCacheNote(plan, memberTotal), seconds: (Date.now() - t0) / 1000 };
}

/** Every pass of one level on its own member files (removed after); returns the member files' total bytes. */
async function runLevel(b: Bench, level: 5 | 6, n: number): Promise<number> {
  const { plan } = b;
  const parity = level === 6 ? 2 : 1;
  const dataDisks = n - parity;
  const component = Math.ceil(plan.dataBytes / dataDisks / plan.chunk) * plan.chunk;
  const base = defaultDataOffset((component / SECTOR) * 2, plan.chunk / SECTOR) * SECTOR;
  const memberBytes = component + base + plan.chunk;
  const dir = await mkdtemp(join(plan.dir ?? tmpdir(), `asynctx-headline-raid${level}-`));
  const paths = Array.from({ length: n }, (_, i) => join(dir, `m${i}.img`));
  const files = await Promise.all(paths.map((p) => FileMember.create(p, memberBytes)));
  try {
    // Sparse files read as zeros, whose parity is zeros: in sync as created.
    const made = await create(files, { level, chunkBytes: plan.chunk, assumeClean: true, name: `headline${level}` });
    const size = Math.floor(made.size / b.maxBlock) * b.maxBlock;
    await made.stop();
    const rig: LevelRig = { b, level, n, dataDisks, base, size, paths, files };
    await warmUp(rig);
    for (let r = 0; r < plan.runs; r++) {
      for (const bs of plan.blockSizes) await blockSizePasses(rig, r, bs);
      await wholeArrayPasses(rig);
    }
  } finally {
    await Promise.all(files.map((f) => f.close().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  }
  return n * memberBytes;
}

/** Assembles the level's array from its members but those at slots `missing`. */
function openArray(rig: LevelRig, ops: RaidOps, missing: readonly number[], readonly: boolean): Promise<RaidArray> {
  return Promise.all(rig.paths.filter((_, i) => !missing.includes(i)).map((p) => FileMember.open(p))).then((m) =>
    assemble(m, { ops, readonly, ownsMembers: true, memberIo: rig.b.plan.memberIo ?? 'queue' }).then((a) => a.array),
  );
}

function syncAll(rig: LevelRig): Promise<void> {
  return Promise.all(rig.files.map((f) => f.sync())).then(() => undefined);
}

/** One sample: assemble, time `pass` moving `bytes`, stop (the stop's drain is not timed; --cold syncs inside). */
async function sample(rig: LevelRig, ops: RaidOps, missing: readonly number[], readonly: boolean, bytes: number, pass: (a: RaidArray) => Promise<void>, cold: boolean): Promise<Sample> {
  if (cold && rig.b.plan.cold) {
    if (!(await dropCache(rig.files))) throw new Error('--cold: cannot drop the member files from the page cache here (needs Linux and GNU dd)');
  }
  const a = await openArray(rig, ops, missing, readonly);
  try {
    return await measure(bytes, () => pass(a));
  } finally {
    await a.stop();
  }
}

/** Untimed: every member block written once, so timed writes overwrite (no file-system allocation in them). */
async function warmUp(rig: LevelRig): Promise<void> {
  const { plan, maxBlock, src } = rig.b;
  const warm = await openArray(rig, rig.b.inline.ops, [], false);
  await streamsPass(plan.streams, Math.ceil(rig.size / maxBlock / plan.streams), async (s, i) => {
    const pos = (i * plan.streams + s) * maxBlock;
    if (pos < rig.size) await warm.write(src[s]!.subarray(0, maxBlock), pos);
  }).finally(() => warm.stop());
  await syncAll(rig);
}

/** Run `r`'s streaming passes at request size `bs`: the raw I/O path, then every case on each engine. */
async function blockSizePasses(rig: LevelRig, r: number, bs: number): Promise<void> {
  const { plan, src, dst, record } = rig.b;
  const { level, n, size } = rig;
  const seqBytes = passBytes(plan, bs, false);
  const per = Math.max(1, Math.floor(seqBytes / bs / plan.streams));
  const region = Math.floor(size / plan.streams / bs) * bs;
  const moved = per * plan.streams * bs;
  const at = (s: number, i: number) => s * region + ((i * bs) % region);
  const seqRead = (a: RaidArray) => streamsPass(plan.streams, per, (s, i) => a.read(dst[s]!.subarray(0, bs), at(s, i)));
  const rnd = Math.max(1, Math.floor(passBytes(plan, bs, true) / bs / plan.streams));
  const slots = size / bs;
  // The I/O path alone, same files, sizes and concurrency (filed under the inline policy: no engine runs).
  record('raw-write', level, bs, 'inline', 'raw positional I/O', await measure(moved, rawPass(rig.files, rig.base, true, moved, bs, plan.streams, rig.dataDisks, src)));
  record('raw-read', level, bs, 'inline', 'raw positional I/O', await measure(moved, rawPass(rig.files, rig.base, false, moved, bs, plan.streams, rig.dataDisks, dst)));
  for (const { policy, engine } of rig.b.engines) {
    const ops = engine.ops;
    record('seq-write', level, bs, policy, engine.label, await sample(rig, ops, [], false, moved, async (a) => {
      await streamsPass(plan.streams, per, (s, i) => a.write(src[s * 4 + (i & 3)]!.subarray(0, bs), at(s, i)));
      if (plan.cold) await a.drain().then(() => syncAll(rig));
    }, false));
    record('seq-read', level, bs, policy, engine.label, await sample(rig, ops, [], true, moved, seqRead, true));
    record('degraded-read-1', level, bs, policy, engine.label, await sample(rig, ops, [1], true, moved, seqRead, true));
    if (level === 6) record('degraded-read-2', level, bs, policy, engine.label, await sample(rig, ops, [1, n - 2], true, moved, seqRead, true));
    record('random-rw', level, bs, policy, engine.label, await sample(rig, ops, [], false, rnd * plan.streams * bs, async (a) => {
      const rand = Array.from({ length: plan.streams }, (_, s) => prng(1000 * r + s + 1));
      await streamsPass(plan.streams, rnd, (s, i) => {
        const pos = Math.floor(rand[s]!() * slots) * bs;
        // Half reads, half writes (tiobench runs them apart; mixed, each sees the other's stripe-cache traffic).
        return rand[s]!() < 0.5 ? a.write(src[s * 4 + (i & 3)]!.subarray(0, bs), pos) : a.read(dst[s]!.subarray(0, bs), pos);
      });
      if (plan.cold) await a.drain().then(() => syncAll(rig));
    }, true));
  }
}

/** Whole-array passes (request size does not apply: md walks stripe heads; blockBytes is the stripe unit). */
async function wholeArrayPasses(rig: LevelRig): Promise<void> {
  const { record } = rig.b;
  const { level } = rig;
  for (const { policy, engine } of rig.b.engines) {
    const probe = await openArray(rig, engine.ops, [], true);
    const covered = probe.componentSectors * SECTOR * rig.dataDisks;
    const unit = probe.unit;
    await probe.stop();
    record('resync', level, unit, policy, engine.label, await sample(rig, engine.ops, [], false, covered, async (a) => void (await resync(a)), true));
    record('check', level, unit, policy, engine.label, await sample(rig, engine.ops, [], true, covered, async (a) => {
      const res = await scrub(a, 'check');
      if (res.mismatches !== 0) throw new Error(`check found ${res.mismatches} mismatched sectors on raid${level}: the benchmark's array is inconsistent`);
    }, true));
  }
}

/** One row per case, level, request size and policy: medians of its runs. */
function rowsOf(samples: SampleMap): HeadlineRow[] {
  return [...samples.values()].map(({ row, s }) => ({
    ...row,
    mbps: median(s.map((x) => x.mbps)),
    mbpsMin: Math.min(...s.map((x) => x.mbps)),
    mbpsMax: Math.max(...s.map((x) => x.mbps)),
    mainThreadCpu: s.some((x) => x.mainCpu === null) ? null : median(s.map((x) => x.mainCpu!)),
    processCpu: median(s.map((x) => x.processCpu)),
    mainThreadWait: s.some((x) => x.mainWait === null) ? null : median(s.map((x) => x.mainWait!)),
    othersWait: s.some((x) => x.othersWait === null) ? null : median(s.map((x) => x.othersWait!)),
    loopP50Ms: median(s.map((x) => x.loopP50Ms)),
    loopP99Ms: median(s.map((x) => x.loopP99Ms)),
    mainMsPerMB: s.some((x) => x.mainMsPerMB === null) ? null : median(s.map((x) => x.mainMsPerMB!)),
    runs: s.length,
  }));
}

/** Whether the page cache could hide the I/O of `memberTotal` bytes of member files, and the note saying so. */
function pageCacheNote(plan: HeadlinePlan, memberTotal: number): HeadlineResult['pageCache'] {
  const freeRam = freemem();
  const canHide = !plan.cold && memberTotal < freeRam / 2;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const text = plan.cold
    ? `--cold: member files synced after writes and dropped from the page cache before every read pass; reads come from the disk (${gib(memberTotal)} of members, ${gib(freeRam)} free RAM)`
    : canHide
      ? `page cache CAN hide I/O: ${gib(memberTotal)} of member files vs ${gib(freeRam)} free RAM (of ${gib(totalmem())}); reads and writes are memory copies, so these are CPU-path figures (--cold for disk reads)`
      : `page cache cannot hold the ${gib(memberTotal)} of member files (${gib(freeRam)} free RAM): I/O reaches the disk`;
  return { canHide, memberBytes: memberTotal, freeRam, totalRam: totalmem(), cold: plan.cold, text };
}
