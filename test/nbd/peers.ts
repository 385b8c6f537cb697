/**
 * Real peers for the NBD tests, written once: the asynctx CLI (one-shot
 * commands and a `raid serve` child that is ready when it prints its line),
 * nbdkit exports on unix sockets, other tools run with a bounded time, and
 * whether a tool is installed (tests skip with the reason when it is not).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/asynctx.js', import.meta.url));

/** True when `tool` is on PATH. */
export const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** The tools of `tools` that are missing, as a skip reason, or null when all are there. */
export function missing(...tools: string[]): string | null {
  const gone = tools.filter((t) => !has(t));
  return gone.length ? `skipped: ${gone.join(', ')} not installed` : null;
}

/** Runs `asynctx ARGS`; asserts exit 0 and returns stdout. */
export function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** Runs a tool with a time bound; the result, for the test to judge. */
export function tool(cmd: string, args: string[], timeoutMs = 30_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
}

/** Runs a tool with a time bound and asserts it exited 0; returns stdout. */
export function ok(cmd: string, args: string[], timeoutMs = 30_000): string {
  const r = tool(cmd, args, timeoutMs);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.error?.message ?? ''}${r.stdout}${r.stderr}`);
  return r.stdout;
}

/**
 * Runs a tool without blocking this process's event loop (needed when the
 * server it talks to runs in this process); resolves with its exit code (null
 * when killed) and its stdout and stderr together.
 */
export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', (e) => (out += e.message));
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

export interface Served {
  readonly child: ChildProcess;
  readonly info: { listening: string; export: string; size: number };
  /** What the server wrote to stderr so far. */
  stderr(): string;
}

/** Starts `asynctx raid serve --json ARGS`; resolves once it printed its ready line. */
export async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'raid', 'serve', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, info: JSON.parse(line) as Served['info'], stderr: () => err };
}

/** Sends `signal` (SIGINT by default) and resolves with the exit code once the process is gone. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}

/** Resolves once something accepts connections on `path` (the peer is up). */
export async function waitForSocket(path: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`peer exited ${child.exitCode} before listening on ${path}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(path);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listening on ${path}`);
}

/** Starts `nbdkit -U DIR/NAME.sock -f ARGS`, records it in `peers`, waits until it listens; returns its URI. */
export async function nbdkit(peers: ChildProcess[], dir: string, name: string, args: string[]): Promise<string> {
  const sock = join(dir, `${name}.sock`);
  const child = spawn('nbdkit', ['-U', sock, '-f', '--exit-with-parent', ...args], { stdio: 'ignore' });
  peers.push(child);
  await waitForSocket(sock, child);
  return `nbd+unix:///?socket=${sock}`;
}

/** Stops every process in `peers` (SIGTERM) and empties the list. */
export function stopAll(peers: ChildProcess[]): Promise<unknown> {
  return Promise.all(peers.splice(0).map((c) => stop(c, 'SIGTERM')));
}
