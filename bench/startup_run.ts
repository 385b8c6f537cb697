/** The measuring half of `asynctx bench startup` (see startup.ts). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuPressure, machine, median } from './common.js';
import type { StartupFlags } from './startup.js';

const BIN = fileURLToPath(new URL('../../bin/asynctx.js', import.meta.url));
const INDEX = new URL('../src/index.js', import.meta.url).href;
const MEMBERS = ['m0', 'm1', 'm2', 'm3'];
/** A first operation through the public API: the module-level xor of two 4 KiB arena blocks. */
const FIRST_OP =
  `const a = await import(${JSON.stringify(INDEX)}); const d = a.allocBlock(4096); ` +
  `await a.waitForAsyncTx(a.asyncXor(d, [a.allocBlock(4096), a.allocBlock(4096)], 0, 4096));`;

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
}

export interface StartupRow {
  name: string;
  wallMs: number;
  cpuMs: number;
  /** wallMs over the bare start's. */
  ratio: number;
  aboveMs: number;
}

/** The cases, the bare start first; `dir` holds the array, the selection cache and the CPU probe. */
function cases(dir: string): Case[] {
  const cache = join(dir, 'cache');
  return [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: 'asynctx --help', args: [BIN, '--help'] },
    { name: 'asynctx raid status', args: [BIN, 'raid', 'status', ...MEMBERS] },
    { name: "import('asynctx')", args: ['--input-type=module', '-e', `await import(${JSON.stringify(INDEX)});`], env: { XDG_CACHE_HOME: cache } },
    { name: 'import + xor, warm cache', args: ['--input-type=module', '-e', FIRST_OP], env: { XDG_CACHE_HOME: cache } },
    { name: 'import + xor, cache off', args: ['--input-type=module', '-e', FIRST_OP], env: { ASYNCTX_KERNEL_CACHE: '0' } },
  ];
}

/**
 * Runs `c` once; returns wall ms and the child's CPU ms (user + system of all
 * its threads, written at exit by the preloaded probe on fd 3).
 */
function spawnOnce(c: Case, dir: string, probe: string): { wallMs: number; cpuMs: number } {
  // Each child as a user starts it: bin/asynctx.js widens libuv's pool for the CLI itself, an importer keeps the default.
  const env: Record<string, string | undefined> = { ...process.env, ASYNCTX_KERNELS: undefined, UV_THREADPOOL_SIZE: undefined, ...c.env };
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--require', probe, ...c.args], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`bench startup: ${c.name} exited ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return { wallMs, cpuMs: Number(r.output[3] ?? NaN) };
}

/** A small RAID-5 in `dir` for the status case, and the probe file; then one untimed run of each case (warms the cache, the page cache). */
function prepare(dir: string, list: readonly Case[]): string {
  const create = spawnSync(process.execPath, [BIN, 'raid', 'create', '--level', '5', '--chunk', '64K', '--member-size', '4M', '--assume-clean', '-q', ...MEMBERS], { cwd: dir, encoding: 'utf8' });
  if (create.status !== 0) throw new Error(`bench startup: raid create failed: ${create.stderr.trim()}`);
  const probe = join(dir, 'cpu_probe.cjs');
  writeFileSync(probe, "process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeSync(3, String((u.user + u.system) / 1000)); });\n");
  for (const c of list) spawnOnce(c, dir, probe);
  return probe;
}

function measure(flags: StartupFlags, dir: string): StartupRow[] {
  const list = cases(dir);
  const probe = prepare(dir, list);
  const wall: number[][] = list.map(() => []);
  const cpu: number[][] = list.map(() => []);
  // Interleaved, so a change in the machine's load falls on every case alike.
  for (let i = 0; i < flags.runs; i++) {
    list.forEach((c, j) => {
      const s = spawnOnce(c, dir, probe);
      wall[j]!.push(s.wallMs);
      cpu[j]!.push(s.cpuMs);
    });
  }
  const base = median(wall[0]!);
  return list.map((c, j) => {
    const wallMs = median(wall[j]!);
    return { name: c.name, wallMs, cpuMs: median(cpu[j]!), ratio: wallMs / base, aboveMs: wallMs - base };
  });
}

function verdicts(rows: readonly StartupRow[]): string[] {
  const row = (name: string) => rows.find((r) => r.name === name)!;
  const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  const first = row('import + xor, warm cache');
  const status = row('asynctx raid status');
  const help = row('asynctx --help');
  return [
    `target: import + first xor, warm cache <= 30 ms above node -e 0: ${met(first.aboveMs <= 30)} (${first.aboveMs.toFixed(1)} ms)`,
    `target: raid status <= 1.5x node -e 0: ${met(status.ratio <= 1.5)} (${status.ratio.toFixed(2)}x)`,
    `target: --help <= 1.5x node -e 0: ${met(help.ratio <= 1.5)} (${help.ratio.toFixed(2)}x)`,
  ];
}

export async function runStartup(flags: StartupFlags): Promise<void> {
  const out = (s: string) => void process.stdout.write(`${s}\n`);
  const load0 = loadavg();
  const psi0 = cpuPressure();
  const dir = mkdtempSync(join(tmpdir(), 'asynctx-bench-startup-'));
  let rows: StartupRow[];
  try {
    rows = measure(flags, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (flags.json) {
    for (const r of rows) out(JSON.stringify(r));
    return;
  }
  out(`asynctx bench startup: median of ${flags.runs} spawns per case, interleaved; wall ms (the figure) and the child's CPU ms`);
  out(`machine: ${machine()}; load average ${load0.map((x) => x.toFixed(2)).join(' ')}; ${psi0}`);
  out(`${'case'.padEnd(26)} ${'wall ms'.padStart(8)} ${'x bare'.padStart(7)} ${'+ms'.padStart(7)} ${'cpu ms'.padStart(8)}`);
  for (const r of rows) {
    out(`${r.name.padEnd(26)} ${r.wallMs.toFixed(1).padStart(8)} ${r.ratio.toFixed(2).padStart(7)} ${r.aboveMs.toFixed(1).padStart(7)} ${r.cpuMs.toFixed(1).padStart(8)}`);
  }
  for (const v of verdicts(rows)) out(v);
  out(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${cpuPressure()}`);
}
