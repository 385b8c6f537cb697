/**
 * Remembers the start-up kernel selection per CPU model, kernel build and
 * Node version, so a process does not pay the ~50 ms measurement each time.
 * The file is $XDG_CACHE_HOME/asynctx/kernels.json (else ~/.cache/asynctx/);
 * ASYNCTX_KERNEL_CACHE=0 turns it off. Every file-system error means "no
 * cache": reading and writing never throw, and nothing is written elsewhere.
 * A hit costs a file read, the build's stamp and a check of each chosen
 * kernel on a tiny vector: no node:crypto, no measurement.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { allocBlock, freeBlock } from '../mem/arena.js';
import { scalarKernels } from './scalar.js';
import { KERNEL_OPS, composeKernels, type KernelChoice, type KernelOp } from './select.js';
import type { Block, KernelSet } from './types.js';
import { kernelModuleUrl } from './wasm_module.js';

/** Bumped whenever the file's meaning changes (2: the wasm-simd variants' names; 3: the cpu and build keys' hashes); another version is stale. */
export const CACHE_FORMAT = 3;

/** What a cached selection must match to be used. */
export interface CacheKey {
  readonly format: number;
  readonly cpu: string;
  readonly build: string;
  readonly node: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The cache file, or null when ASYNCTX_KERNEL_CACHE=0 or no directory can be named. */
export function cachePath(env: Env = process.env): string | null {
  if ((env.ASYNCTX_KERNEL_CACHE ?? '').trim() === '0') return null;
  let base = env.XDG_CACHE_HOME;
  if (base === undefined || base === '') {
    try {
      base = join(homedir(), '.cache');
    } catch {
      return null;
    }
  }
  return join(base, 'asynctx', 'kernels.json');
}

/** 64-bit FNV-1a of a string, as hex (two 32-bit lanes): a name for a flags line, not a defence against anyone. */
function fnv64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c ^ (a >>> 16), 0x0100019d);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** The CPU model: /proc/cpuinfo's model name plus a hash of its flags on Linux, os.cpus() elsewhere. */
export function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
    const flags = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? '';
    return `${model} flags:${fnv64(flags)}`;
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

/**
 * The kernel build: the stamp scripts/build_kernels.mjs writes beside the
 * files (a SHA-256 of the kernel sources, the build script and the compiler's
 * version), else a hash of the compiled files (both memory variants); "none"
 * parts where they are missing.
 */
export function kernelBuildHash(): string {
  try {
    const stamp = readFileSync(new URL('.stamp', kernelModuleUrl(true, 'release')), 'utf8').trim();
    if (/^[0-9a-f]{32,}$/.test(stamp)) return `stamp:${stamp.slice(0, 32)}`;
  } catch {
    // no stamp (a build by other means): hash the files themselves
  }
  // node:crypto only here: loading it costs more than the rest of a cache hit.
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const h = createHash('sha256');
  for (const shared of [true, false]) {
    try {
      h.update(readFileSync(kernelModuleUrl(shared, 'release')));
    } catch {
      h.update('missing');
    }
  }
  return h.digest('hex').slice(0, 32);
}

export function currentKey(): CacheKey {
  return { format: CACHE_FORMAT, cpu: cpuModel(), build: kernelBuildHash(), node: process.version };
}

/** The cached choice table when the file exists, parses and matches `key`; null otherwise. */
export function loadCachedTable(path: string, key: CacheKey): KernelChoice[] | null {
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    if (file.format !== key.format || file.cpu !== key.cpu || file.build !== key.build || file.node !== key.node) return null;
    const rows = file.table;
    if (!Array.isArray(rows)) return null;
    const table: KernelChoice[] = [];
    for (const op of KERNEL_OPS) {
      const row = rows.find((r: { op?: unknown }) => r?.op === op) as { impl?: unknown; mbps?: unknown } | undefined;
      if (row === undefined || typeof row.impl !== 'string') return null;
      const mbps = typeof row.mbps === 'object' && row.mbps !== null ? (row.mbps as Record<string, number>) : {};
      table.push({ op, impl: row.impl, mbps });
    }
    return table;
  } catch {
    return null;
  }
}

/** Writes the table atomically (temp file + rename); any error leaves things as they were. */
export function saveCachedTable(path: string, key: CacheKey, table: readonly KernelChoice[]): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, `${JSON.stringify({ ...key, table }, null, 1)}\n`);
    renameSync(tmp, path);
    return true;
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    return false;
  }
}

const VERIFY_LEN = 64;

/** What one probe of an op gave: its result and every block's bytes afterwards. */
interface Probe {
  readonly result: string;
  readonly blocks: readonly Block[];
}

/** Runs op once on k over fresh copies of the inputs. */
function probe(k: KernelSet, op: KernelOp, block: () => Block): Probe {
  const d = [block(), block(), block(), block()];
  d.forEach((b, i) => b.forEach((_, j) => (b[j] = (j * 37 + i * 101 + 13) & 0xff)));
  const [p, q, dest] = [block(), block(), block()];
  p.fill(0x11);
  q.fill(0x22);
  dest.fill(0x33);
  let r: unknown = null;
  switch (op) {
    case 'memcpy': k.memcpy(dest, d[0]); break;
    case 'memset': k.memset(dest, 0xa5); break;
    case 'xor': k.xor(dest, d); break;
    case 'xorIsZero': r = [k.xorIsZero([d[0], d[0]]), k.xorIsZero([d[0], d[1]])]; break;
    case 'genSyndrome': k.genSyndrome(d, p, q); break;
    case 'xorSyndrome': k.xorSyndrome(d, p, q, 1, 2); break;
    case 'pqCheck': scalarKernels.genSyndrome(d, p, q); r = [k.pqCheck(d, p, q)]; q[3] ^= 1; r = [r, k.pqCheck(d, p, q)]; break;
    case 'mulConst': k.mulConst(dest, d[0], 0x8e); break;
    case 'mulAcc': k.mulAcc(dest, d[0], 0x8e); break;
    case 'recov2Data': scalarKernels.genSyndrome(d, p, q); d[0].fill(0); d[2].fill(0); k.recov2Data(d, p, q, 0, 2); break;
    case 'recovDataP': scalarKernels.genSyndrome(d, p, q); d[1].fill(0); p.fill(0); k.recovDataP(d, p, q, 1); break;
    case 'isZero': r = [k.isZero(dest), k.isZero(new Uint8Array(0)), (dest.fill(0), k.isZero(dest))]; break;
    case 'equal': r = [k.equal(d[1], d[1]), k.equal(d[1], d[2])]; break;
  }
  return { result: JSON.stringify(r), blocks: [...d, p, q, dest] };
}

function sameProbe(a: Probe, b: Probe): boolean {
  return a.result === b.result && a.blocks.every((x, i) => Buffer.compare(x, b.blocks[i]) === 0);
}

/**
 * The composite set for `table` when every named variant exists among
 * `candidates` and gives the scalar reference's bytes on a tiny vector (an op
 * the table gives to the reference itself needs no check); null otherwise
 * (the caller then selects as usual).
 */
export function verifiedKernels(table: readonly KernelChoice[], candidates: readonly KernelSet[]): KernelSet | null {
  const choice = Object.fromEntries(table.map((c) => [c.op, c.impl])) as Record<KernelOp, string>;
  let set: KernelSet;
  try {
    set = composeKernels(choice, candidates);
  } catch {
    return null;
  }
  const blocks: Block[] = [];
  const block = (): Block => {
    const b = allocBlock(VERIFY_LEN);
    blocks.push(b);
    return b;
  };
  try {
    for (const op of KERNEL_OPS) {
      if (choice[op] !== scalarKernels.name && !sameProbe(probe(set, op, block), probe(scalarKernels, op, block))) return null;
    }
    return set;
  } catch {
    return null;
  } finally {
    for (const b of blocks) freeBlock(b);
  }
}
