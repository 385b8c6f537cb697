/**
 * Runs and prints `asynctx bench nbd` (flags and what it measures: nbd.ts).
 * Every case moves the same bytes on the same member files; cases take turns
 * within each run, so a busy spell of the machine falls on all of them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { InvalidArgumentError } from '../src/cli/commander.js';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuPressure, machine, median } from './common.js';
import type { NbdBenchFlags } from './nbd.js';
import { printJson } from '../src/cli/output.js';

const BIN = fileURLToPath(new URL('../../bin/asynctx.js', import.meta.url));

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** Seconds a command takes; throws with its stderr when it fails. */
function timed(cmd: string, args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`bench nbd: ${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim()}`);
  return s;
}

const asynctx = (args: readonly string[]) => timed(process.execPath, [BIN, ...args]);

interface Server {
  readonly child: ChildProcess;
  readonly uri: string;
  readonly size: number;
  /** Seconds from spawn to the ready line (Node start, assembly, listen). */
  readonly startup: number;
}

/** Starts `asynctx raid serve` on a unix socket and waits for its ready line. */
async function startServe(paths: readonly string[], sock: string): Promise<Server> {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, 'raid', 'serve', '--json', '-q', '--socket', sock, ...paths], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), out.includes('\n') && resolve(out.split('\n')[0]!)));
    child.once('exit', (code) => reject(new Error(`bench nbd: raid serve exited ${code}: ${err.trim()}`)));
  });
  const info = JSON.parse(line) as { listening: string; size: number };
  return { child, uri: info.listening, size: info.size, startup: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** SIGINT, then the exit code; anything but 0 is an error (the array did not stop clean). */
function stopServe(s: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    s.child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench nbd: raid serve exited ${code}`))));
    s.child.kill('SIGINT');
  });
}

/** `nbdkit file PATH` on a unix socket; resolves once it accepts connections. */
async function startNbdkit(path: string, sock: string): Promise<ChildProcess> {
  // The previous run's socket is left behind by nbdkit, which refuses to start over one.
  rmSync(sock, { force: true });
  const child = spawn('nbdkit', ['-U', sock, '-f', '--exit-with-parent', 'file', path], { stdio: 'ignore' });
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`bench nbd: nbdkit exited ${child.exitCode}`);
    const up = await new Promise<boolean>((r) => {
      const c = connect(sock, () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('bench nbd: nbdkit did not start listening');
}

/** Writes `size` random bytes to `path` in 4 MiB pieces. */
function randomFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < size; at += 4 << 20) writeSync(fd, randomBytes(Math.min(4 << 20, size - at)));
  } finally {
    closeSync(fd);
  }
}

interface Row {
  case: string;
  bytes: number;
  mbps: number;
  mbpsMin: number;
  mbpsMax: number;
  seconds: number;
}

const CASES = {
  raidWrite: 'asynctx raid write (file -> array)',
  nbdWrite: 'nbdcopy file -> raid serve (--flush)',
  raidRead: 'asynctx raid read (array -> /dev/null)',
  nbdRead: 'nbdcopy raid serve -> null:',
  peerRead: 'nbdcopy nbdkit file (one member) -> null:',
} as const;

/** Every case once per run, in turn; seconds per case, and the server start-ups seen. */
async function runCases(flags: NbdBenchFlags, paths: readonly string[], input: string, size: number, dir: string, peer: boolean) {
  const sock = join(dir, 'serve.sock');
  const copy = ['--connections', String(flags.connections), '--threads', String(flags.connections), '--requests', String(flags.requests), '--request-size', String(flags.requestSize)];
  const samples = new Map<string, { bytes: number; s: number[] }>();
  const record = (name: string, bytes: number, s: number) => {
    if (!samples.has(name)) samples.set(name, { bytes, s: [] });
    samples.get(name)!.s.push(s);
  };
  const startups: number[] = [];
  const served = async (body: (uri: string) => number): Promise<number> => {
    const srv = await startServe(paths, sock);
    startups.push(srv.startup);
    try {
      return body(srv.uri);
    } finally {
      await stopServe(srv);
    }
  };
  for (let r = 0; r < flags.runs; r++) {
    record(CASES.raidWrite, size, asynctx(['raid', 'write', '--input', input, '-q', ...paths]));
    record(CASES.nbdWrite, size, await served((uri) => timed('nbdcopy', [...copy, '--flush', input, uri])));
    record(CASES.raidRead, size, asynctx(['raid', 'read', '--output', '/dev/null', '-q', ...paths]));
    record(CASES.nbdRead, size, await served((uri) => timed('nbdcopy', [...copy, uri, 'null:'])));
    if (peer) {
      const kit = await startNbdkit(paths[0]!, join(dir, 'peer.sock'));
      try {
        record(CASES.peerRead, flags.memberSize, timed('nbdcopy', [...copy, `nbd+unix:///?socket=${join(dir, 'peer.sock')}`, 'null:']));
      } finally {
        await new Promise((r) => (kit.once('exit', r), kit.kill('SIGTERM')));
      }
    }
  }
  return { samples, startups };
}

export async function benchNbd(flags: NbdBenchFlags): Promise<void> {
  if (!has('nbdcopy')) throw new Error('bench nbd needs nbdcopy (Debian/Ubuntu: apt-get install libnbd-bin)');
  if (flags.members < 4) throw new InvalidArgumentError('--members must be 4 or more (RAID-6)');
  const peer = has('nbdkit');
  const dir = await mkdtemp(join(flags.dir ?? tmpdir(), 'asynctx-bench-nbd-'));
  const paths = Array.from({ length: flags.members }, (_, i) => join(dir, `m${i}.img`));
  const before = { load: loadavg(), psi: cpuPressure() };
  const t0 = Date.now();
  try {
    for (const p of paths) closeSync(openSync(p, 'w'));
    for (const p of paths) truncateSync(p, flags.memberSize);
    asynctx(['raid', 'create', '--level', '6', '--chunk', String(flags.chunk), '--assume-clean', '-q', ...paths]);
    const probe = await startServe(paths, join(dir, 'serve.sock'));
    const size = probe.size;
    await stopServe(probe);
    const input = join(dir, 'input.bin');
    randomFile(input, size);
    const { samples, startups } = await runCases(flags, paths, input, size, dir, peer);
    const rows: Row[] = [...samples].map(([name, { bytes, s }]) => {
      const mbps = s.map((x) => bytes / x / 1e6);
      return { case: name, bytes, mbps: median(mbps), mbpsMin: Math.min(...mbps), mbpsMax: Math.max(...mbps), seconds: median(s) };
    });
    const mb = (name: string) => rows.find((x) => x.case === name)?.mbps ?? null;
    const ratio = (a: string, b: string) => (mb(a) !== null && mb(b) !== null ? mb(a)! / mb(b)! : null);
    const result = {
      command: `asynctx ${process.argv.slice(2).join(' ')}`,
      machine: machine(),
      members: flags.members,
      memberBytes: flags.memberSize,
      chunk: flags.chunk,
      arrayBytes: size,
      nbdcopy: { connections: flags.connections, requests: flags.requests, requestBytes: flags.requestSize },
      runs: flags.runs,
      rows,
      serverStartupSeconds: median(startups),
      readRatio: ratio(CASES.nbdRead, CASES.raidRead),
      writeRatio: ratio(CASES.nbdWrite, CASES.raidWrite),
      target: 0.85,
      peerRatio: ratio(CASES.nbdRead, CASES.peerRead),
      peer: peer ? 'nbdkit file' : 'nbdkit not installed',
      loadAverage: { before: before.load, after: loadavg() },
      cpuPressure: { before: before.psi, after: cpuPressure() },
      seconds: (Date.now() - t0) / 1000,
    };
    if (flags.json) printJson(result);
    else printText(result);
  } finally {
    if (!flags.keep) await rm(dir, { recursive: true, force: true });
  }
}

function printText(r: {
  machine: string;
  members: number;
  memberBytes: number;
  chunk: number;
  arrayBytes: number;
  nbdcopy: { connections: number; requests: number; requestBytes: number };
  runs: number;
  rows: readonly Row[];
  serverStartupSeconds: number;
  readRatio: number | null;
  writeRatio: number | null;
  target: number;
  peerRatio: number | null;
  peer: string;
  loadAverage: { before: number[]; after: number[] };
  cpuPressure: { before: string; after: string };
  seconds: number;
}): void {
  const out = (s: string) => void process.stdout.write(`${s}\n`);
  const fix = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  const verdict = (x: number | null) => (x === null ? '' : x >= r.target ? 'MET    ' : 'NOT MET');
  out(
    `RAID-6, ${r.members} members of ${r.memberBytes / 2 ** 20} MiB, chunk ${r.chunk / 1024}K: ${(r.arrayBytes / 1e6).toFixed(0)} MB of data; ` +
      `nbdcopy ${r.nbdcopy.connections} connections x ${r.nbdcopy.requests} requests of ${r.nbdcopy.requestBytes / 1024} KiB; median of ${r.runs} runs`,
  );
  out(`machine: ${r.machine}; load average ${r.loadAverage.before.map((x) => x.toFixed(2)).join(' ')} before`);
  out('the member files and the input live in the page cache if RAM allows: these are CPU-path figures');
  out(`${'case'.padEnd(44)} ${'MB/s'.padStart(8)} ${'(min-max)'.padEnd(13)} ${'s'.padStart(7)}`);
  for (const x of r.rows) out(`${x.case.padEnd(44)} ${x.mbps.toFixed(0).padStart(8)} ${`(${x.mbpsMin.toFixed(0)}-${x.mbpsMax.toFixed(0)})`.padEnd(13)} ${x.seconds.toFixed(2).padStart(7)}`);
  out(`raid serve start-up (Node, assembly, listen; not in the nbdcopy times): ${r.serverStartupSeconds.toFixed(2)} s`);
  out(`${verdict(r.readRatio)} read:  nbdcopy / raid read  ${fix(r.readRatio)} (target >= ${r.target})`);
  out(`${verdict(r.writeRatio)} write: nbdcopy / raid write ${fix(r.writeRatio)} (target >= ${r.target})`);
  out(`peer (${r.peer}): asynctx-served / nbdkit file read MB/s ${fix(r.peerRatio)} (no target)`);
  out(`load average after: ${r.loadAverage.after.map((x) => x.toFixed(2)).join(' ')}; ${r.cpuPressure.before} before, ${r.cpuPressure.after} after; took ${r.seconds.toFixed(0)} s`);
}
