/**
 * Functional evidence of what a process loads, for the start-up tests: run a
 * process with `--import` this file and LOAD_RECORD=FILE, and FILE gets a line
 * `module URL` for every module loaded and `wasm compile` for every
 * WebAssembly module compiled (the kernels are compiled only when they are
 * instantiated, which is also when the start-up selection runs).
 * recordedRun() does that and returns the lines.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

type Bytes = ConstructorParameters<typeof WebAssembly.Module>[0];

function install(record: string): void {
  register(new URL('./load_hooks.js', import.meta.url), { data: { record } });
  const note = (): void => appendFileSync(record, 'wasm compile\n');
  const Module = WebAssembly.Module;
  WebAssembly.Module = class extends Module {
    constructor(bytes: Bytes) {
      note();
      super(bytes);
    }
  };
  // The asynchronous compilers too (the kernels use neither today): an instantiate of bytes compiles.
  const wasm = WebAssembly as unknown as Record<'compile' | 'instantiate', (source: unknown, imports?: unknown) => Promise<unknown>>;
  const { compile, instantiate } = wasm;
  wasm.compile = (bytes) => (note(), compile(bytes));
  wasm.instantiate = (source, imports) => {
    if (!(source instanceof Module)) note();
    return instantiate(source, imports);
  };
}

// Preloaded by recordedRun's child, on its main thread (its workers inherit the --import, not the role);
// a test that imports this module has no LOAD_RECORD and records nothing.
if (process.env.LOAD_RECORD && isMainThread) install(process.env.LOAD_RECORD);

export interface Recorded {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every line of the record, in order (a child may append its own marks to LOAD_RECORD). */
  lines: string[];
  /** URLs of the modules the process loaded, in order. */
  modules: string[];
  /** WebAssembly modules compiled. */
  wasmCompiles: number;
}

/**
 * Runs node with `args` under the recorder, in `cwd`, with `env` added to
 * this process's environment (ASYNCTX_KERNELS is removed unless given).
 */
export function recordedRun(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Recorded {
  const dir = mkdtempSync(join(tmpdir(), 'asynctx-loads-'));
  const record = join(dir, 'record.txt');
  try {
    const env: Record<string, string | undefined> = { ...process.env, ASYNCTX_KERNELS: undefined, ...opts.env, LOAD_RECORD: record };
    const r = spawnSync(process.execPath, ['--import', import.meta.url, ...args], { cwd: opts.cwd, env, encoding: 'utf8' });
    let lines: string[] = [];
    try {
      lines = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    } catch {
      // nothing recorded: the assertions on `modules` say so
    }
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      lines,
      modules: lines.filter((l) => l.startsWith('module ')).map((l) => l.slice(7)),
      wasmCompiles: lines.filter((l) => l === 'wasm compile').length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
