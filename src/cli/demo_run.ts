/**
 * What `asynctx demo` (`npm start`) runs, loaded when it runs (its flags are in
 * demo.ts): the tour a newcomer takes first.
 * A 6-member RAID-6 on sparse files in a temp folder; data written, two
 * members failed, everything read back verified from parity, both members
 * rebuilt onto blank files, a check (0 mismatches expected), and a summary of
 * throughput and main-thread CPU for the inline path against worker engines.
 *
 * The comparison is measured, not claimed: the first half of the data is
 * written (and later read degraded) with an inline client, the second half
 * with a worker client, on the same files, so both phases move the same bytes
 * through the same code. Main-thread CPU is this thread's own time
 * (/proc/thread-self/schedstat), not the process's: the workers' time is
 * exactly what offload moves off the main thread.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir, freemem, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { assemble, create, defaultDataOffset, FileMember, rebuild, scrub, SECTOR, type RaidArray, type RaidOps } from '../raid/index.js';
import { engineFor, type Engine } from './engine.js';
import type { EngineFlags } from './flags.js';
import { printJson } from './output.js';
import { fill, stream, threadCpuNs } from './workload.js';
import { progress } from './raid_common.js';

const MEMBERS = 6;
const CHUNK = 512 * 1024;
/** One full row of data (4 data chunks): every write is a full-stripe write, parity computed, never read back. */
const STEP = (MEMBERS - 2) * CHUNK;
/** Distinct source blocks: request i writes POOL[i mod 17]; 17 is prime, so no stripe period lines up with it. */
const POOL = 17;
const DEPTH = 4;
const FAILED = [1, 4] as const;

export interface DemoFlags extends EngineFlags {
  size: number;
  keep?: string;
  json?: boolean;
  quiet?: boolean;
}

/** Stopped by Ctrl-C (or SIGTERM): the demo unwinds through its finally blocks, which clean up. */
export class DemoInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'DemoInterrupted';
  }
}

/** A phase's figures: data bytes moved, wall seconds, main-thread CPU seconds (null where unknown). */
export interface Phase {
  name: string;
  engines: string;
  bytes: number;
  seconds: number;
  mbps: number;
  mainThreadCpu: number | null;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;

/** Runs `work` timing wall and this thread's CPU; `bytes` data bytes are what it moves. */
async function timed(name: string, engines: string, bytes: number, work: () => Promise<void>): Promise<Phase> {
  const c0 = threadCpuNs();
  const t0 = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = threadCpuNs();
  const mainThreadCpu = c0 === null || c1 === null ? null : (c1 - c0) / 1e9 / seconds;
  return { name, engines, bytes, seconds, mbps: bytes / seconds / 1e6, mainThreadCpu };
}

/** Member file size for `dataBytes` of RAID-6 data: a share of the data, whole chunks, plus mdadm's data offset. */
function memberBytes(dataBytes: number): number {
  const component = Math.ceil(dataBytes / (MEMBERS - 2) / CHUNK) * CHUNK;
  const sectors = component / SECTOR;
  return component + defaultDataOffset(sectors * 2, CHUNK / SECTOR) * SECTOR + CHUNK;
}

/** What the tour's steps share: the member files, the two engines, the source blocks and the figures so far. */
interface Tour {
  flags: DemoFlags;
  /** Data bytes, whole rows. */
  size: number;
  /** Full-stripe requests in `size`. */
  count: number;
  dir: string;
  paths: string[];
  say: (s: string) => void;
  inline: Engine;
  workers: Engine;
  /** Blocks allocated from the inline engine, freed when the demo ends. */
  pool: Uint8Array[];
  phases: Phase[];
  signal: AbortSignal;
  /** Date.now() when the demo started. */
  t0: number;
}

/** The data split between the engines: the first half inline, the second on workers. */
interface Half {
  engine: Engine;
  from: number;
  to: number;
}

const ALL = Array.from({ length: MEMBERS }, (_, i) => i);
const SURVIVORS = ALL.filter((i) => !(FAILED as readonly number[]).includes(i));

/** Throws DemoInterrupted once Ctrl-C (or SIGTERM) has aborted `signal`. */
function guard(signal: AbortSignal): void {
  if (signal.aborted) throw new DemoInterrupted();
}

/** Assembles the array from the members at slots `which`, on `ops`. */
function openArray(t: Tour, ops: RaidOps, which: readonly number[], readonly: boolean): Promise<RaidArray> {
  return Promise.all(which.map((i) => FileMember.open(t.paths[i]!))).then((m) => assemble(m, { ops, readonly, ownsMembers: true }).then((a) => a.array));
}

async function demo(flags: DemoFlags): Promise<void> {
  const size = Math.max(STEP, Math.ceil(flags.size / STEP) * STEP);
  const count = size / STEP;
  const dir = flags.keep ? resolve(flags.keep) : await mkdtemp(join(tmpdir(), 'asynctx-demo-'));
  if (flags.keep) await mkdir(dir, { recursive: true });
  const paths = Array.from({ length: MEMBERS }, (_, i) => join(dir, `member${i}.img`));
  const say = (s: string) => {
    if (!flags.json && !flags.quiet) process.stdout.write(`${s}\n`);
  };
  // Ctrl-C: stop between requests and unwind (the finally blocks close the array and remove the folder).
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Last resort for the temp folder if the process ends some other way while it exists.
  const onExit = () => {
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const t0 = Date.now();
  const inline = engineFor({ workers: 0 });
  let workers: Engine | null = null;
  const pool: Uint8Array[] = [];
  try {
    workers = engineFor({ workers: flags.workers ?? 'auto', policy: flags.policy ?? 'auto' });
    await tour({ flags, size, count, dir, paths, say, inline, workers, pool, phases: [], signal: ac.signal, t0 });
  } finally {
    for (const b of pool) inline.ops.freeBlock(b);
    await workers?.close();
    await inline.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    if (!flags.keep) await rm(dir, { recursive: true, force: true });
    if (ac.signal.aborted) process.exitCode = 130;
  }
}

/** The tour proper: create, write, fail two, read degraded, rebuild, check, summary. */
async function tour(t: Tour): Promise<void> {
  const { size, inline, workers } = t;
  t.say(`asynctx demo: RAID-6 over ${MEMBERS} sparse files in ${t.dir}`);
  t.say(`  ${(size / 2 ** 20).toFixed(0)} MiB of data, chunk ${CHUNK / 1024} KiB, ${STEP / 2 ** 20} MiB full-stripe requests, ${DEPTH} in flight`);
  t.say(`  engines: "${inline.label}" for the first half of the data, "${workers.label}" for the second`);
  const sourceSha = fillSourcePool(t);

  const files = await Promise.all(t.paths.map((p) => FileMember.create(p, memberBytes(size))));
  // Sparse files read as zeros, and all-zero data has all-zero P and Q: the array is in sync as created.
  const made = await create(files, { level: 6, chunkBytes: CHUNK, assumeClean: true, name: 'demo', ops: inline.ops, ownsMembers: true });
  await made.stop();
  const half = Math.ceil(t.count / 2);
  const halves: Half[] = [
    { engine: inline, from: 0, to: half },
    { engine: workers, from: half, to: t.count },
  ];

  await writeAndFail(t, halves);
  t.say(`failed members ${FAILED.join(' and ')} (slots); the array is degraded, with no redundancy left`);
  const bad = await readDegraded(t, halves);
  // Verified byte for byte against the source blocks (a compare costs less main-thread time than hashing the read-back).
  const verified = bad < 0;
  t.say(verified ? `read back ${(size / 2 ** 20).toFixed(0)} MiB degraded: every byte matches (sha256 ${sourceSha.slice(0, 16)}…)` : `read back: request ${bad} DIFFERS from what was written`);
  const mismatches = await rebuildAndCheck(t);
  const seconds = (Date.now() - t.t0) / 1000;
  const summary = summarize(t, sourceSha, verified, mismatches, seconds);
  if (t.flags.json) printJson(summary);
  else printSummary(summary, t.phases, t.paths);
  if (!verified || mismatches !== 0) process.exitCode = 1;
}

/** Allocates the source blocks in the shared arena (every engine reads them in place), before any timing; returns the data's sha256. */
function fillSourcePool(t: Tour): string {
  for (let i = 0; i < POOL; i++) {
    const b = t.inline.ops.allocBlock(STEP);
    fill(b, i + 1);
    t.pool.push(b);
  }
  const source = createHash('sha256');
  for (let i = 0; i < t.count; i++) source.update(t.pool[i % POOL]!);
  return source.digest('hex');
}

/** 1. Write: full-stripe writes, half on each engine; then 2. two members fail. */
async function writeAndFail(t: Tour, halves: readonly Half[]): Promise<void> {
  const wbar = progress('write', t.flags);
  let written = 0;
  for (const [k, h] of halves.entries()) {
    const array = await openArray(t, h.engine.ops, ALL, false);
    try {
      t.phases.push(
        await timed('write', h.engine.label, (h.to - h.from) * STEP, () =>
          stream(h.to - h.from, DEPTH, async (j) => {
            guard(t.signal);
            const i = h.from + j;
            await array.write(t.pool[i % POOL]!, i * STEP);
            wbar.update((written += STEP), t.size);
          }),
        ),
      );
      if (k === halves.length - 1) {
        // 2. Two members fail (md's --fail): the array runs on, degraded, on P+Q.
        for (const slot of FAILED) await array.fail(slot);
      }
    } finally {
      await array.stop();
    }
  }
  wbar.end();
}

/** 3. Degraded read of everything, compared with the source: every row misses two members. Returns the first differing request, or -1. */
async function readDegraded(t: Tour, halves: readonly Half[]): Promise<number> {
  const rbar = progress('degraded read', t.flags);
  const lanes = Array.from({ length: DEPTH }, () => t.inline.ops.allocBlock(STEP));
  t.pool.push(...lanes);
  let bad = -1;
  let done = 0;
  for (const h of halves) {
    const array = await openArray(t, h.engine.ops, SURVIVORS, true);
    try {
      t.phases.push(
        await timed('degraded read (2 missing)', h.engine.label, (h.to - h.from) * STEP, () =>
          stream(h.to - h.from, DEPTH, async (j, lane) => {
            guard(t.signal);
            const i = h.from + j;
            const buf = lanes[lane]!;
            await array.read(buf, i * STEP);
            if (bad < 0 && !same(buf, t.pool[i % POOL]!)) bad = i;
            rbar.update((done += STEP), t.size);
          }),
        ),
      );
    } finally {
      await array.stop();
    }
  }
  rbar.end();
  return bad;
}

/** 4. Rebuild both members onto blank files (a replaced disk), on the worker engines; 5. check. Returns the mismatches found. */
async function rebuildAndCheck(t: Tour): Promise<number> {
  for (const slot of FAILED) {
    await rm(t.paths[slot]!, { force: true });
    await (await FileMember.create(t.paths[slot]!, memberBytes(t.size))).close();
  }
  const array: RaidArray = await openArray(t, t.workers.ops, SURVIVORS, false);
  try {
    for (const slot of FAILED) await array.add(await FileMember.open(t.paths[slot]!));
    await rebuildPhase(t, array);
    return await checkPhase(t, array);
  } finally {
    await array.stop();
  }
}

/** The rebuild, timed; md counts rebuild speed per member written: here, bytes written to the two new members. */
async function rebuildPhase(t: Tour, array: RaidArray): Promise<void> {
  const bbar = progress('rebuild', t.flags);
  let rebuilt = 0;
  t.phases.push(
    await timed('rebuild 2 members', t.workers.label, 0, async () => {
      const r = await rebuild(array, { progress: (d, total) => bbar.update(d, total), signal: t.signal });
      rebuilt = r.bytes * FAILED.length;
      guard(t.signal);
    }),
  );
  bbar.end();
  const last = t.phases[t.phases.length - 1]!;
  last.bytes = rebuilt;
  last.mbps = rebuilt / last.seconds / 1e6;
}

/** 5. Check: P and Q recomputed from the data everywhere and compared (md's check, mismatch_cnt). */
async function checkPhase(t: Tour, array: RaidArray): Promise<number> {
  const cbar = progress('check', t.flags);
  let checked = 0;
  let mismatches = -1;
  t.phases.push(
    await timed('check', t.workers.label, 0, async () => {
      const r = await scrub(array, 'check', { progress: (d, total) => cbar.update(d, total), signal: t.signal });
      guard(t.signal);
      mismatches = r.mismatches;
      checked = r.bytes * (MEMBERS - 2);
    }),
  );
  cbar.end();
  const c = t.phases[t.phases.length - 1]!;
  c.bytes = checked;
  c.mbps = checked / c.seconds / 1e6;
  return mismatches;
}

/** The demo's result, as `--json` prints it. */
function summarize(t: Tour, sourceSha: string, verified: boolean, mismatches: number, seconds: number) {
  const ratio = (name: string) => {
    const [a, b] = t.phases.filter((p) => p.name === name);
    return a && b ? { mbps: b.mbps / a.mbps, cpu: a.mainThreadCpu !== null && b.mainThreadCpu !== null ? { inline: a.mainThreadCpu, workers: b.mainThreadCpu } : null } : null;
  };
  return {
    dir: t.dir,
    kept: t.flags.keep !== undefined,
    members: MEMBERS,
    level: 6,
    dataBytes: t.size,
    sourceSha256: sourceSha,
    verified,
    failed: [...FAILED],
    mismatches,
    seconds,
    phases: t.phases,
    workersVsInline: { write: ratio('write'), degradedRead: ratio('degraded read (2 missing)') },
    pageCache: { memberBytes: MEMBERS * memberBytes(t.size), freeRam: freemem(), totalRam: totalmem() },
  };
}

function printSummary(
  s: { dataBytes: number; verified: boolean; mismatches: number; seconds: number; kept: boolean; pageCache: { memberBytes: number; freeRam: number } },
  phases: readonly Phase[],
  paths: readonly string[],
): void {
  const out = (l: string) => void process.stdout.write(`${l}\n`);
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(0)}%`);
  out('');
  out(`${'phase'.padEnd(27)} ${'engines'.padEnd(24)} ${'MB'.padStart(7)} ${'s'.padStart(6)} ${'MB/s'.padStart(7)} ${'main-thread CPU'.padStart(15)}`);
  for (const p of phases) {
    out(`${p.name.padEnd(27)} ${p.engines.padEnd(24)} ${(p.bytes / 1e6).toFixed(0).padStart(7)} ${p.seconds.toFixed(2).padStart(6)} ${p.mbps.toFixed(0).padStart(7)} ${pct(p.mainThreadCpu).padStart(15)}`);
  }
  for (const name of ['write', 'degraded read (2 missing)']) {
    const [a, b] = phases.filter((p) => p.name === name);
    if (a && b) out(`${name}: workers ${b.mbps >= a.mbps ? '+' : ''}${((b.mbps / a.mbps - 1) * 100).toFixed(0)}% MB/s vs inline; main thread busy ${pct(a.mainThreadCpu)} inline, ${pct(b.mainThreadCpu)} with workers`);
  }
  out(`rebuild/check: MB/s of bytes written to the new members / of data checked. mismatches: ${s.mismatches}; degraded read verified: ${s.verified ? 'yes' : 'NO'}`);
  if (s.pageCache.memberBytes < s.pageCache.freeRam / 2) out(`note: ${(s.pageCache.memberBytes / 2 ** 20).toFixed(0)} MiB of member files fit in free RAM: the page cache absorbs the I/O, so these are CPU figures (asynctx bench headline --cold for disk reads)`);
  out(`done in ${s.seconds.toFixed(1)} s`);
  if (s.kept) {
    const m = paths.join(' ');
    out('');
    out('the members are kept; try the other verbs:');
    out(`  asynctx raid detail ${m}`);
    out(`  asynctx raid check ${m}`);
    out(`  asynctx raid read ${m} --offset 0 --length 1M | sha256sum`);
    out(`  asynctx raid fail ${m} --member ${paths[2]}`);
    out(`  asynctx raid --help`);
  }
}

/** Runs the demo for `asynctx demo`; Ctrl-C is not a failure: it says what was left behind and exits 130, as shells expect. */
export async function runDemo(flags: DemoFlags): Promise<void> {
  try {
    await demo(flags);
  } catch (err) {
    if (!(err instanceof DemoInterrupted)) throw err;
    process.stderr.write(`asynctx demo: interrupted; ${flags.keep ? `members kept in ${flags.keep}` : 'temp folder removed'}\n`);
    process.exitCode = 130;
  }
}
