/**
 * Shared pieces of the `asynctx raid` verbs' actions: opening members and
 * assembling them, progress display (a bar with MB/s and ETA on a terminal,
 * plain lines otherwise), and output. Loaded when a verb runs; the flags are
 * defined in raid_options.ts.
 */
import { createRequire } from 'node:module';
import { InvalidArgumentError } from './commander.js';
// The modules themselves, not the raid/index.js barrel: a verb loads what it runs (test/cli/startup.test.ts).
import { assemble, type Assembled } from '../raid/assemble.js';
import { FileMember, type Member } from '../raid/member.js';
import { isNbdUri, NbdMember } from '../raid/nbd_member.js';
import { reportOnlyOps, type RaidOps } from '../raid/ops.js';
import type { Engine } from './engine.js';
import type { ArrayFlags } from './raid_options.js';

export type { ArrayFlags } from './raid_options.js';

/** A buffer from the array's ops (the shared arena when they offer it), given back by the returned function. */
export function ioBuffer(ops: RaidOps, len: number): { buf: Uint8Array; free: () => void } {
  if (!ops.allocBlock) return { buf: new Uint8Array(len), free: () => undefined };
  const buf = ops.allocBlock(len);
  return { buf, free: () => ops.freeBlock?.(buf) };
}

/** Prints diagnostics on stderr (stdout stays clean for data and --json). */
export function note(flags: ArrayFlags, message: string): void {
  if (!flags.quiet) process.stderr.write(`asynctx raid: ${message}\n`);
}

/**
 * Opens one member: an NBD export for nbd:// and nbd+unix:// URIs (with the
 * flags' --nbd-timeout), otherwise an existing file or block device.
 */
export function openMember(path: string, flags: ArrayFlags, readonly = false): Promise<Member> {
  const timeoutMs = (flags.nbdTimeout ?? 30) * 1000;
  return isNbdUri(path) ? NbdMember.open(path, { readonly, timeoutMs }) : FileMember.open(path, { readonly });
}

/** Opens member paths; closes the ones opened if a later one fails. */
export async function openMembers(paths: readonly string[], flags: ArrayFlags, readonly: boolean): Promise<Member[]> {
  if (paths.length === 0) throw new InvalidArgumentError('no member paths given');
  const out: Member[] = [];
  try {
    for (const p of paths) out.push(await openMember(p, flags, readonly));
  } catch (err) {
    await Promise.all(out.map((m) => m.close()));
    throw err;
  }
  return out;
}

/**
 * Opens and assembles on the engines the flags ask for; warnings go to
 * stderr. The array owns (and stop() closes) the members and the client.
 * @param run where parity work runs: 'engines', the client the flags ask for;
 *   'software', the module-level functions (no client, no worker code; the
 *   kernels only once an operation needs one); 'report', nowhere, for a
 *   read-only array a verb only describes (detail, status): not even the
 *   submit path is loaded (raid/ops.ts reportOnlyOps).
 */
export async function openArray(paths: readonly string[], flags: ArrayFlags, run: 'engines' | 'software' | 'report' = 'engines'): Promise<Assembled> {
  const readonly = flags.readonly === true;
  if (run === 'report' && !readonly) throw new Error('internal: an array opened to report on must be read-only');
  const members: Member[] = await openMembers(paths, flags, readonly);
  let client: Engine | null = null;
  try {
    if (run === 'engines') client = (await import('./engine.js')).engineFor(flags);
    const ops: RaidOps | undefined = client?.ops ?? (run === 'report' ? reportOnlyOps : undefined);
    const assembled = await assemble(members, {
      readonly,
      force: flags.force === true,
      ownsMembers: true,
      ...(ops === undefined ? {} : { ops, ownsOps: client !== null }),
      log: (msg) => note(flags, msg),
    });
    return assembled;
  } catch (err) {
    await Promise.all(members.map((m) => m.close()));
    await client?.close();
    throw err;
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** A progress reporter: call with bytes done of total; `end()` prints the summary line. */
export interface Progress {
  update(done: number, total: number): void;
  end(): void;
}

/**
 * A bar with MB/s and ETA when stderr is a terminal; otherwise a plain line
 * every 10% (logs stay readable); nothing with --quiet or --json.
 */
export function progress(label: string, flags: ArrayFlags): Progress {
  const start = Date.now();
  let last = { done: 0, total: 0 };
  const rate = () => last.done / Math.max(0.001, (Date.now() - start) / 1000);
  if (flags.quiet || flags.json) return { update: (d, t) => void (last = { done: d, total: t }), end: () => undefined };
  if (process.stderr.isTTY) {
    // Loaded only for a bar on a terminal; require, as it is CommonJS (no export scan by the ES loader).
    const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {mbdone}/{mbtotal} MB | {rate} MB/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        last = { done, total };
        const payload = { mbdone: mb(done), mbtotal: mb(total), rate: mb(rate()) };
        if (!started) {
          bar.start(total, done, payload);
          started = true;
        } else bar.update(done, payload);
      },
      end() {
        if (started) bar.stop();
      },
    };
  }
  let nextTenth = 1;
  return {
    update(done, total) {
      last = { done, total };
      if (total <= 0 || done * 10 < nextTenth * total || nextTenth > 10) return;
      const tenth = Math.min(10, Math.floor((done * 10) / total));
      const eta = rate() > 0 ? Math.max(0, (total - done) / rate()) : 0;
      process.stderr.write(`${label}: ${tenth * 10}% (${mb(done)}/${mb(total)} MB, ${mb(rate())} MB/s, ETA ${eta.toFixed(0)}s)\n`);
      nextTenth = tenth + 1;
    },
    end() {
      if (last.total > 0 && nextTenth <= 10) process.stderr.write(`${label}: done (${mb(last.done)} MB, ${mb(rate())} MB/s)\n`);
    },
  };
}
