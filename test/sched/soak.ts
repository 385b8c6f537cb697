/**
 * The soak: many random chains (1–6 dependent steps each) on a client with
 * worker engines under injected failures, delays, timeouts and thread deaths,
 * each chain checked against the same steps run on the synchronous path.
 * Used by the short soak in the test suite and by `npm run soak` (10 000 chains).
 */
import { performance } from 'node:perf_hooks';
import { asyncMemset, createClient, DmaStatus, type Tx } from '../../src/index.js';
import * as syncOps from '../../src/index.js';
import type { FaultOptions } from '../../src/drivers/fault/index.js';
import { apply, clonePool, makePool, randomSpec, Rng, type Spec } from '../drivers/opgen.js';

export interface SoakOptions {
  readonly chains: number;
  readonly seed: number;
  readonly workers: number;
  /** Chains in flight at once. */
  readonly concurrency: number;
  /** The whole soak must finish within this, or it fails (no hang goes unnoticed). */
  readonly deadlineMs: number;
  readonly timeoutMs: number;
  readonly faults: FaultOptions;
  readonly maxLen: number;
  readonly policy: 'auto' | 'offload';
  /** Called every so many chains with the number done. */
  readonly progress?: (done: number) => void;
}

export interface SoakReport {
  chains: number;
  steps: number;
  elapsedMs: number;
  /** Problems found; empty when the soak passed. */
  problems: string[];
  failovers: number;
  timeouts: number;
  respawned: number;
  injected: { failed: number; delayed: number; crashed: number };
  offloaded: number;
  inline: number;
}

const ignore = (): void => {};

/** Runs one chain on the client and its twin on the synchronous path; returns what differs. */
async function chain(client: ReturnType<typeof createClient>, id: number, o: SoakOptions, report: SoakReport): Promise<string[]> {
  const r = new Rng(o.seed * 1_000_003 + id);
  const size = r.int(8, 14);
  const maxOff = 16;
  const bytes = o.maxLen + maxOff + 8;
  const arenaMask = r.next();
  const pool = makePool(r, size, bytes, (i) => ((arenaMask >>> i) & 1) === 1, (len) => client.allocBlock(len));
  const twin = clonePool(pool);
  const steps = r.int(1, 6);
  const specs: Spec[] = Array.from({ length: steps }, () => randomSpec(r, size, r.chance(0.3) ? o.maxLen : Math.min(o.maxLen, 4096), maxOff));
  const problems: string[] = [];
  const calls = new Array<number>(steps).fill(0);
  const txs: Tx[] = [];
  let parent: Tx | undefined;
  specs.forEach((s, k) => {
    parent = apply(client, pool, s, {
      depend: parent,
      callback: (err) => {
        calls[k]++;
        if (err !== undefined) problems.push(`chain ${id} step ${k} (${s.kind}) failed: ${err.message}`);
      },
    });
    txs.push(parent);
  });
  const expected = specs.map((s) => apply(syncOps, twin, s));
  if (r.chance(0.5)) client.asyncTxIssuePendingAll();
  await client.waitForAsyncTx(parent!).catch(ignore);
  // Every callback has run once the microtasks after the last completion have.
  await new Promise((resolve) => setImmediate(resolve));
  calls.forEach((n, k) => n !== 1 && problems.push(`chain ${id} step ${k}: callback ran ${n} times`));
  txs.forEach((t, k) => {
    if (t.status !== DmaStatus.Complete) problems.push(`chain ${id} step ${k}: status ${t.status} (${t.error?.message})`);
    if (t.result !== expected[k].result) problems.push(`chain ${id} step ${k} (${specs[k].kind}): result ${t.result}, sync path ${expected[k].result}`);
  });
  pool.forEach((b, i) => {
    if (!Buffer.from(b.buffer, b.byteOffset, b.length).equals(Buffer.from(twin[i]))) {
      problems.push(`chain ${id}: buffer ${i} differs from the synchronous run (${specs.map((s) => s.kind).join(' → ')})`);
      if ((globalThis as { __soakDebug?: boolean }).__soakDebug) {
        problems.push(JSON.stringify({ arena: ((arenaMask >>> i) & 1) === 1, specs, hist: txs.map((t) => (t as unknown as { __hist?: string[] }).__hist) }));
      }
    }
  });
  pool.forEach((b, i) => ((arenaMask >>> i) & 1) === 1 && client.freeBlock(b));
  report.steps += steps;
  return problems;
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const report: SoakReport = {
    chains: 0, steps: 0, elapsedMs: 0, problems: [], failovers: 0, timeouts: 0, respawned: 0,
    injected: { failed: 0, delayed: 0, crashed: 0 }, offloaded: 0, inline: 0,
  };
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => void rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const client = createClient({ workers: o.workers, policy: o.policy, timeoutMs: o.timeoutMs, faults: o.faults });
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`soak did not finish within ${o.deadlineMs} ms (${report.chains} of ${o.chains} chains done)`)), o.deadlineMs);
  });
  try {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < o.chains) {
        const id = next++;
        report.problems.push(...(await chain(client, id, o, report)));
        report.chains++;
        if (o.progress !== undefined && report.chains % 500 === 0) o.progress(report.chains);
      }
    };
    await Promise.race([Promise.all(Array.from({ length: o.concurrency }, lane)), deadline]);
    checkStats(client.stats(), report);
  } catch (err) {
    report.problems.push((err as Error).message);
  } finally {
    clearTimeout(timer);
    await Promise.race([client.close(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    process.off('unhandledRejection', onRejection);
  }
  // The default client still works: nothing leaked into it.
  asyncMemset(new Uint8Array(8), 1, 0, 8);
  for (const r of rejections) report.problems.push(`unhandled rejection: ${String(r)}`);
  report.elapsedMs = performance.now() - t0;
  return report;
}

/** The counters must add up: every descriptor counted once, every engine failure failed over once. */
function checkStats(s: ReturnType<ReturnType<typeof createClient>['stats']>, report: SoakReport): void {
  let submitted = 0;
  if (s.pending !== 0) report.problems.push(`stats: ${s.pending} descriptors still pending after the soak`);
  for (const [op, c] of Object.entries(s.ops)) {
    submitted += c.submitted;
    if (c.submitted !== c.completed) report.problems.push(`stats: ${op} submitted ${c.submitted} ≠ completed ${c.completed}`);
    if (c.completed !== c.inline + c.offloaded + c.errors) report.problems.push(`stats: ${op} completed ${c.completed} ≠ inline + offloaded + errors`);
    report.offloaded += c.offloaded;
    report.inline += c.inline;
  }
  if (submitted !== report.steps) report.problems.push(`stats: ${submitted} descriptors counted, ${report.steps} submitted`);
  let errors = 0;
  for (const c of Object.values(s.scheduler.channels)) {
    errors += c.errors;
    report.failovers += c.failovers;
    report.timeouts += c.timeouts;
  }
  if (errors !== report.failovers) report.problems.push(`stats: ${errors} engine errors but ${report.failovers} failovers`);
  for (const f of Object.values(s.faults ?? {})) {
    report.injected.failed += f.failed;
    report.injected.delayed += f.delayed;
    report.injected.crashed += f.crashed;
  }
  if (report.injected.failed > errors) report.problems.push(`stats: ${report.injected.failed} injected failures but only ${errors} engine errors`);
  report.respawned = s.respawned;
}
