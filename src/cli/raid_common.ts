/**
 * Shared pieces of the `asynctx raid` verbs' actions: opening members and
 * assembling them, progress display (a bar with MB/s and ETA on a terminal,
 * plain lines otherwise), and output. Loaded when a verb runs; the flags are
 * defined in raid_options.ts.
 */
import cliProgress from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import { assemble, FileMember, isNbdUri, NbdMember, type Assembled, type Member, type RaidOps } from '../raid/index.js';
import type { Engine } from '../cli_engine.js';
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
 * @param engine false for a verb that only inspects (detail, status): no
 *   client is made and the client module is not even loaded; the array runs
 *   on the software path, which instantiates no kernel until an operation
 *   needs one, and an inspection runs none.
 */
export async function openArray(paths: readonly string[], flags: ArrayFlags, engine = true): Promise<Assembled> {
  const readonly = flags.readonly === true;
  const members: Member[] = await openMembers(paths, flags, readonly);
  let client: Engine | null = null;
  try {
    if (engine) client = (await import('../cli_engine.js')).engineFor(flags);
    const assembled = await assemble(members, {
      readonly,
      force: flags.force === true,
      ownsMembers: true,
      ...(client === null ? {} : { ops: client.ops, ownsOps: true }),
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
