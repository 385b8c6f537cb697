/**
 * What `asynctx bench raid` runs (flags and what it measures: raid.ts): the
 * passes of raid_run.ts on member files, inline and on worker engines,
 * printed as a table with the page-cache and kernel notes, or as JSON.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { median } from './common.js';
import { kernels } from '../src/kernels/index.js';
import { assemble, create, FileMember, MemberQueue, SECTOR, type Layout, type MemberQueueStats, type RaidArray, type RaidOps } from '../src/raid/index.js';
import { arrayReadPass, arrayWritePass, computePass, dropCache, measure, memberBytesRequest, stripedRequest, type Sample, type Stripes } from './raid_run.js';
import { engineFor, type Engine } from '../src/cli/engine.js';
import { printJson } from '../src/cli/output.js';
import { fill, stream } from '../src/cli/workload.js';
import type { BenchFlags } from './raid.js';

const COMPUTE_PARITY = 'P+Q of the written rows only (no I/O)';
const COMPUTE_RECOVERY = 'rebuild of 2 missing only (no I/O)';

interface Row {
  case: string;
  engines: string;
  mbps: number;
  mbpsMin: number;
  mbpsMax: number;
  mainThreadCpu: number | null;
  processCpu: number;
  /** Member requests of the last run: made by stripes (or the reference writers), issued after merging. */
  memberRequests?: { submitted: number; issued: number; kibPerIssued: number };
}

function alloc(ops: RaidOps, len: number): Uint8Array {
  return ops.allocBlock ? ops.allocBlock(len) : new Uint8Array(len);
}

/** The kernels the RAID paths run (start-up choice), and a warning when one fell back to scalar though SIMD was measured. */
function kernelNote(): { used: Record<string, string>; warning: string | null } {
  const ops = ['genSyndrome', 'xor', 'recov2Data', 'recovDataP', 'memcpy'];
  const used: Record<string, string> = {};
  const slow: string[] = [];
  for (const c of kernels()) {
    if (!ops.includes(c.op)) continue;
    used[c.op] = c.impl;
    if (c.impl === 'scalar' && c.op !== 'memcpy' && 'wasm-simd' in c.mbps) slow.push(`${c.op} (measured wasm-simd ${c.mbps['wasm-simd']} MB/s, scalar ${c.mbps.scalar} MB/s)`);
  }
  const warning = slow.length
    ? `WARNING: the start-up kernel selection picked scalar for ${slow.join(', ')} - the machine was busy while it measured; RAID figures of this run are not representative (rerun, or set ASYNCTX_KERNELS=wasm)`
    : null;
  return { used, warning };
}

function pageCacheNote(memberBytes: number, sync: boolean, cold: boolean): { canHide: boolean; text: string } {
  const ram = totalmem();
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  const canHide = memberBytes < ram / 2;
  const parts = [
    canHide
      ? `page cache CAN hide I/O: ${gib(memberBytes)} of member files in ${gib(ram)} of RAM`
      : `page cache cannot hold the ${gib(memberBytes)} of member files (${gib(ram)} of RAM)`,
    sync ? 'write passes end with fdatasync of every member (timed): writes reach the disk' : canHide ? 'writes stop in the page cache (memory copies; --sync to time them until durable)' : 'writes are throttled to the disk',
    cold ? 'read passes start with the member files dropped from the page cache (untimed): reads come from the disk' : canHide ? 'reads come from the page cache (memory copies; --cold to read from the disk)' : 'reads come mostly from the disk',
  ];
  return { canHide: canHide && !(sync && cold), text: parts.join('; ') };
}

/** A measured sample, with the member requests its pass made. */
type IoSample = Sample & { io?: MemberQueueStats };

/** The figures of one engine, against the striped references. */
interface EngineRatios {
  engines: string;
  writeRatio: number;
  writeVsCeiling: number;
  degradedReadRatio: number;
  writeSerialBound: number;
  degradedSerialBound: number;
}

/** What the passes share: the member files, the engines, the request buffers and the samples so far. */
interface Rig {
  flags: BenchFlags;
  /** Members. */
  n: number;
  /** Request bytes, whole rows. */
  step: number;
  /** Requests in a pass. */
  count: number;
  dataBytes: number;
  files: FileMember[];
  inline: Engine;
  engines: Engine[];
  layout: Layout;
  /** Source blocks, request i writes pool[i mod 8]. */
  pool: Uint8Array[];
  filler: Uint8Array;
  readBufs: Uint8Array[];
  scratch: Uint8Array[][];
  stripes: Stripes;
  samples: Map<string, { engines: string; s: Sample[]; io?: MemberQueueStats }>;
}

export async function benchRaid(flags: BenchFlags): Promise<void> {
  const n = flags.members;
  if (!Number.isInteger(n) || n < 4) throw new Error('--members must be 4 or more (RAID-6)');
  const rowData = (n - 2) * flags.chunk;
  const step = Math.max(1, Math.round(flags.step / rowData)) * rowData;
  const dir = await mkdtemp(join(flags.dir ?? tmpdir(), 'asynctx-bench-raid-'));
  const paths = Array.from({ length: n }, (_, i) => join(dir, `m${i}.img`));
  const inline = engineFor({ workers: 0 });
  const engines: Engine[] = [inline];
  if (flags.workers !== 0) engines.push(engineFor({ workers: flags.workers ?? 'auto', policy: flags.policy ?? 'auto' }));
  const files = await Promise.all(paths.map((p) => FileMember.create(p, flags.memberSize)));
  const blocks: Uint8Array[] = [];
  try {
    const made = await create(files, { level: 6, chunkBytes: flags.chunk, assumeClean: true, name: 'bench' });
    const count = Math.floor(made.size / step);
    const dataBytes = count * step;
    const dataOffset = made.table.master.dataOffset * SECTOR;
    await made.stop();
    if (count === 0) throw new Error(`--member-size too small for one ${step}-byte request`);
    const rig = rigUp(flags, { n, step, count, dataBytes, files, inline, engines, layout: made.layout, dataOffset }, blocks);
    await warmUp(rig);
    for (let r = 0; r < flags.runs; r++) await writePasses(rig);
    await verifyReads(rig);
    for (let r = 0; r < flags.runs; r++) await computeAndReadPasses(rig);

    const rows = rowsOf(rig.samples);
    const find = (prefix: string, eng = '-') => rows.find((r) => r.case.startsWith(prefix) && r.engines === eng)!.mbps;
    const perEngine = engines.map((e) => ratiosOf(find, e.label));
    const result = resultOf(flags, { n, dataBytes, step, dir }, rows, find, perEngine);
    if (flags.json) printJson(result);
    else printText(result, rows, perEngine, flags);
  } finally {
    for (const b of blocks) inline.ops.freeBlock(b);
    await Promise.all(files.map((f) => f.close().catch(() => undefined)));
    for (const e of engines) await e.close();
    if (!flags.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** The request buffers, in the shared arena (the inline client's) so every engine uses them in place; each also goes into `blocks`, freed at the end. */
function rigUp(
  flags: BenchFlags,
  a: Pick<Rig, 'n' | 'step' | 'count' | 'dataBytes' | 'files' | 'inline' | 'engines' | 'layout'> & { dataOffset: number },
  blocks: Uint8Array[],
): Rig {
  const take = (len: number) => {
    const b = alloc(a.inline.ops, len);
    blocks.push(b);
    return b;
  };
  const pool = Array.from({ length: 8 }, (_, i) => take(a.step));
  pool.forEach((b, i) => fill(b, i + 1));
  const filler = take(flags.chunk);
  const readBufs = Array.from({ length: flags.depth }, () => take(a.step));
  const scratch = Array.from({ length: flags.depth }, () => Array.from({ length: a.n }, () => take(flags.chunk)));
  const stripes: Stripes = { queues: a.files.map((f) => new MemberQueue(f, { maxBytes: flags.merge })), chunk: flags.chunk, dataOffset: a.dataOffset };
  const { n, step, count, dataBytes, files, inline, engines, layout } = a;
  return { flags, n, step, count, dataBytes, files, inline, engines, layout, pool, filler, readBufs, scratch, stripes, samples: new Map() };
}

/** Ends a write pass with fdatasync of every member, under --sync. */
async function syncIfAsked(rig: Rig): Promise<void> {
  if (rig.flags.sync) await Promise.all(rig.files.map((f) => f.sync()));
}

/** Under --cold, drops the member files from the page cache. */
async function dropIfCold(rig: Rig): Promise<void> {
  if (rig.flags.cold && !(await dropCache(rig.files))) throw new Error('--cold: cannot drop the member files from the page cache here (needs Linux and GNU dd)');
}

function openArray(rig: Rig, ops: RaidOps, degraded = false, readonly = true): Promise<RaidArray> {
  return assemble(degraded ? rig.files.slice(0, rig.n - 2) : rig.files, { ops, readonly, mergeBytes: rig.flags.merge }).then((a) => a.array);
}

function queueStats(stripes: Stripes): MemberQueueStats {
  const t = { requests: 0, issued: 0, bytes: 0 };
  for (const q of stripes.queues) (t.requests += q.stats.requests), (t.issued += q.stats.issued), (t.bytes += q.stats.bytes);
  return t;
}

/** Measures `pass`, with the member requests it made: on the array's queues (a fresh array), or on the references'. */
async function timed(rig: Rig, array: RaidArray | null, pass: () => Promise<void>, before?: () => Promise<void>): Promise<IoSample> {
  const q0 = queueStats(rig.stripes);
  try {
    const s = await measure(rig.dataBytes, rig.flags.minTime, pass, before);
    if (array) return { ...s, io: array.ioStats() };
    const q1 = queueStats(rig.stripes);
    return q1.requests === q0.requests ? s : { ...s, io: { requests: q1.requests - q0.requests, issued: q1.issued - q0.issued, bytes: q1.bytes - q0.bytes } };
  } finally {
    await array?.stop();
  }
}

function record(rig: Rig, name: string, engines: string, s: IoSample): void {
  const key = `${name}\u0000${engines}`;
  if (!rig.samples.has(key)) rig.samples.set(key, { engines, s: [] });
  rig.samples.get(key)!.s.push(s);
  if (s.io) rig.samples.get(key)!.io = s.io;
}

/** Untimed: every member block allocated and written once, so each timed pass overwrites (no file-system allocation in it). */
async function warmUp(rig: Rig): Promise<void> {
  const warm = await openArray(rig, rig.inline.ops, false, false);
  await arrayWritePass(warm, rig.pool, rig.step, rig.count, rig.flags.depth).finally(() => warm.stop());
  await Promise.all(rig.files.map((f) => f.sync()));
}

/** One run of the write passes: the two striped references, then the array on each engine. */
async function writePasses(rig: Rig): Promise<void> {
  const { n, pool, step, count, stripes, flags } = rig;
  record(rig, 'striped write, no parity', '-', await timed(rig, null, async () => {
    await stream(count, flags.depth, (i) => stripedRequest(stripes, pool[i % pool.length]!, i * step));
    await syncIfAsked(rig);
  }));
  record(rig, `striped write, RAID-6 member bytes (${(n / (n - 2)).toFixed(2)}x)`, '-', await timed(rig, null, async () => {
    await stream(count, flags.depth, (i) => memberBytesRequest(stripes, pool[i % pool.length]!, i * step, rig.filler));
    await syncIfAsked(rig);
  }));
  for (const e of rig.engines) {
    const a = await openArray(rig, e.ops, false, false);
    record(rig, `raid6 full-stripe write (${n} members)`, e.label, await timed(rig, a, async () => {
      await arrayWritePass(a, pool, step, count, flags.depth);
      await syncIfAsked(rig);
    }));
  }
}

/** Untimed: both read paths return what was written, on these engines. */
async function verifyReads(rig: Rig): Promise<void> {
  const check = (i: number, got: Uint8Array) => {
    const want = rig.pool[i % rig.pool.length]!;
    if (Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.length), Buffer.from(want.buffer, want.byteOffset, want.length)) !== 0) {
      throw new Error(`bench: request ${i} read back different bytes`);
    }
  };
  for (const e of rig.engines) {
    for (const degraded of [false, true]) {
      const a = await openArray(rig, e.ops, degraded);
      await arrayReadPass(a, rig.readBufs, rig.step, rig.count, check).finally(() => a.stop());
    }
  }
}

/** One run of the CPU side alone (what the write and the degraded read compute, with no I/O), then the healthy and degraded reads, on each engine. */
async function computeAndReadPasses(rig: Rig): Promise<void> {
  const { n, pool, step, count, scratch, readBufs, layout } = rig;
  const missing = [n - 2, n - 1];
  const cold = () => dropIfCold(rig);
  for (const e of rig.engines) {
    record(rig, COMPUTE_PARITY, e.label, await timed(rig, null, () => computePass(e.ops, layout, 'parity', missing, pool, step, count, scratch)));
    record(rig, COMPUTE_RECOVERY, e.label, await timed(rig, null, () => computePass(e.ops, layout, 'recovery', missing, pool, step, count, scratch)));
    const h = await openArray(rig, e.ops);
    record(rig, 'raid6 healthy read', e.label, await timed(rig, h, () => arrayReadPass(h, readBufs, step, count), cold));
    const d = await openArray(rig, e.ops, true);
    record(rig, 'raid6 read, 2 members missing', e.label, await timed(rig, d, () => arrayReadPass(d, readBufs, step, count), cold));
  }
}

/** One row per case and engines: the median of its runs, with their range. */
function rowsOf(samples: Rig['samples']): Row[] {
  return [...samples].map(([key, { engines: eng, s, io }]) => ({
    case: key.split('\u0000')[0]!,
    engines: eng,
    mbps: median(s.map((x) => x.mbps)),
    mbpsMin: Math.min(...s.map((x) => x.mbps)),
    mbpsMax: Math.max(...s.map((x) => x.mbps)),
    mainThreadCpu: s[0]!.mainCpu === null ? null : median(s.map((x) => x.mainCpu!)),
    processCpu: median(s.map((x) => x.processCpu)),
    ...(io && io.issued > 0 ? { memberRequests: { submitted: io.requests, issued: io.issued, kibPerIssued: io.bytes / io.issued / 1024 } } : {}),
  }));
}

type Find = (prefix: string, eng?: string) => number;

function ratiosOf(find: Find, label: string): EngineRatios {
  const striped = find('striped write, no parity');
  const ceiling = find('striped write, RAID-6');
  const healthy = find('raid6 healthy read', label);
  return {
    engines: label,
    writeRatio: find('raid6 full-stripe write', label) / striped,
    writeVsCeiling: find('raid6 full-stripe write', label) / ceiling,
    degradedReadRatio: find('raid6 read, 2', label) / healthy,
    // If compute and the kernel's copies could not overlap at all (one core between them): time adds up.
    writeSerialBound: 1 / striped / (1 / ceiling + 1 / find(COMPUTE_PARITY, label)),
    degradedSerialBound: 1 / healthy / (1 / healthy + 1 / find(COMPUTE_RECOVERY, label)),
  };
}

/** The report, as --json prints it. */
function resultOf(flags: BenchFlags, a: { n: number; dataBytes: number; step: number; dir: string }, rows: Row[], find: Find, perEngine: EngineRatios[]) {
  const cache = pageCacheNote(a.n * flags.memberSize, flags.sync === true, flags.cold === true);
  return {
    members: a.n,
    memberBytes: flags.memberSize,
    chunk: flags.chunk,
    dataBytes: a.dataBytes,
    requestBytes: a.step,
    depth: flags.depth,
    mergeBytes: flags.merge,
    runs: flags.runs,
    minSeconds: flags.minTime,
    sync: flags.sync === true,
    cold: flags.cold === true,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    pageCache: cache,
    kernels: kernelNote(),
    rows,
    writeCeilingRatio: find('striped write, RAID-6') / find('striped write, no parity'),
    writeTarget: 0.8,
    degradedReadTarget: 0.6,
    engines: perEngine,
    dir: a.dir,
  };
}

function printText(
  r: {
    dataBytes: number;
    requestBytes: number;
    depth: number;
    mergeBytes: number;
    runs: number;
    minSeconds: number;
    uvThreadpoolSize: number;
    pageCache: { text: string };
    kernels: { used: Record<string, string>; warning: string | null };
    writeCeilingRatio: number;
  },
  rows: readonly Row[],
  perEngine: readonly EngineRatios[],
  flags: BenchFlags,
): void {
  const out = (s: string) => void process.stdout.write(`${s}\n`);
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(0)}%`);
  out(
    `RAID-6, ${flags.members} members of ${flags.memberSize / 2 ** 20} MiB, chunk ${flags.chunk / 1024}K, ${(r.dataBytes / 1e6).toFixed(0)} MB of data; ` +
      `requests of ${r.requestBytes / 2 ** 20} MiB, ${r.depth} in flight, member requests merged up to ${r.mergeBytes / 1024} KiB; median of ${r.runs} runs of >= ${r.minSeconds} s; libuv pool ${r.uvThreadpoolSize} threads`,
  );
  out(r.pageCache.text);
  out(`kernels: ${Object.entries(r.kernels.used).map(([op, impl]) => `${op} ${impl}`).join(', ')}`);
  if (r.kernels.warning) out(r.kernels.warning);
  out(`${'case'.padEnd(44)} ${'engines'.padEnd(26)} ${'MB/s'.padStart(7)} ${'(min-max)'.padEnd(13)} ${'main CPU'.padStart(8)} ${'process CPU'.padStart(11)}  member I/O`);
  for (const x of rows) {
    const range = `(${x.mbpsMin.toFixed(0)}-${x.mbpsMax.toFixed(0)})`;
    const io = x.memberRequests ? `${x.memberRequests.submitted} -> ${x.memberRequests.issued} requests, ${x.memberRequests.kibPerIssued.toFixed(0)} KiB each` : '';
    out(`${x.case.padEnd(44)} ${x.engines.padEnd(26)} ${x.mbps.toFixed(0).padStart(7)} ${range.padEnd(13)} ${pct(x.mainThreadCpu).padStart(8)} ${pct(x.processCpu).padStart(11)}  ${io}`);
  }
  out(`I/O ceiling of a RAID-6 write (member-bytes / striped): ${r.writeCeilingRatio.toFixed(2)}`);
  for (const e of perEngine) {
    out(
      `${e.engines}: write / striped ${e.writeRatio.toFixed(2)} (target >= 0.80; ${e.writeVsCeiling.toFixed(2)} of the ceiling; ${e.writeSerialBound.toFixed(2)} if compute and copies took turns), ` +
        `degraded / healthy read ${e.degradedReadRatio.toFixed(2)} (target >= 0.60; ${e.degradedSerialBound.toFixed(2)} if they took turns)`,
    );
  }
}
