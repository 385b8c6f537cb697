/**
 * The Intel ISA-L reference rows of `asynctx bench`: xor_gen and pq_gen on the
 * kernel rows' shapes, from a small C harness (isal_peer.c) built on first use
 * into the user's cache directory. ISA-L is a yardstick, not a dependency:
 * without a C compiler and libisal-dev the bench says how to get them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchPlan, BenchRow } from './kernel_run.js';

export const ISAL_HOW_TO = 'ISA-L rows not measured: they need a C compiler and libisal-dev (Debian/Ubuntu: apt-get install gcc libisal-dev)';

/** The built harness, or why there is none. */
export function isalHarness(): { path: string } | { why: string } {
  const src = fileURLToPath(new URL('../../bench/isal_peer.c', import.meta.url));
  if (!existsSync(src)) return { why: `${ISAL_HOW_TO} (harness source ${src} missing)` };
  const code = readFileSync(src);
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'asynctx');
  const path = join(dir, `isal_peer-${createHash('sha256').update(code).digest('hex').slice(0, 12)}`);
  if (existsSync(path)) return { path };
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    return { why: `${ISAL_HOW_TO} (cannot write ${dir})` };
  }
  const cc = spawnSync(process.env.CC || 'cc', ['-O2', '-o', path, src, '-lisal'], { encoding: 'utf8' });
  if (cc.status !== 0) return { why: `${ISAL_HOW_TO}${cc.error ? ` (${cc.error.message})` : ''}` };
  return { path };
}

/** One ISA-L row per xor/pq shape of the plan (block sizes ISA-L takes: multiples of 32). */
export function isalRows(plan: BenchPlan, harness: string, emit: (r: BenchRow) => void): void {
  for (const op of ['xor', 'pq'] as const) {
    if (!plan.ops.includes(op)) continue;
    for (const blockBytes of plan.sizes.filter((b) => b % 32 === 0)) {
      for (const sources of plan.sources) {
        for (const mode of plan.modes) {
          // ISA-L's own choice (the widest SIMD here), and its 128-bit code: WebAssembly SIMD's width.
          for (const [impl, isa] of [['isa-l', 'auto'], ['isa-l sse (128-bit)', 'sse']] as const) {
            const args = [op, sources, blockBytes, mode, plan.coldBytes, plan.warmMs, plan.runs, plan.runMs, isa].map(String);
            const r = spawnSync(harness, args, { encoding: 'utf8' });
            if (r.status !== 0) throw new Error(`isal_peer ${args.join(' ')} failed: ${r.stderr.trim()}`);
            const { gbps } = JSON.parse(r.stdout) as { gbps: number };
            emit({ op, impl, blockBytes, sources, mode, gbps, selected: false });
          }
        }
      }
    }
  }
}
