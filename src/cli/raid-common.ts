/**
 * Shared pieces of the `asynctx raid` verbs: size parsing, opening members and
 * assembling them, progress display (a bar with MB/s and ETA on a terminal,
 * plain lines otherwise), and output.
 */
import cliProgress from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createClient, type AsyncTxClient, type PolicyName } from '../client.js';
import { assemble, FileMember, type Assembled, type Member, type RaidOps } from '../raid/index.js';

/** Parses "64M", "512K", "1G", "4096" (bytes), "8s" (sectors); binary units like mdadm. */
export function parseBytes(value: string): number {
  const m = /^(\d+)([kKmMgGtTsS]?)(i?[bB])?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not a size (examples: 4096, 64K, 512M, 2G)`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, s: 512 };
  const n = Number(m[1]) * mult[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is too large`);
  return n;
}

/** Parses a non-negative byte count given as a plain number or with a unit. */
export function parseOffset(value: string): number {
  return parseBytes(value);
}

/** Where parity work runs: --workers N|auto and --policy inline|auto|offload. */
export interface EngineFlags {
  workers?: number | 'auto';
  policy?: PolicyName;
}

export interface ArrayFlags extends EngineFlags {
  readonly?: boolean;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  if (/^\d+$/.test(value) && Number(value) <= 256) return Number(value);
  throw new InvalidArgumentError(`--workers must be a thread count (0 to 256) or "auto", not "${value}"`);
}

export function parsePolicy(value: string): PolicyName {
  if (value === 'inline' || value === 'auto' || value === 'offload') return value;
  throw new InvalidArgumentError(`--policy must be inline, auto or offload, not "${value}"`);
}

/** Adds --workers and --policy to a command. */
export function engineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--workers <n|auto>', 'worker-thread engines for parity work (0: inline only; auto: one per spare core)').argParser(parseWorkers))
    .addOption(new Option('--policy <name>', 'where parity work runs: inline, auto (offload large operations) or offload').argParser(parsePolicy));
}

/** The client an array runs its parity work on, and what it is called in output. */
export interface Engine {
  readonly ops: AsyncTxClient;
  readonly label: string;
  close(): Promise<void>;
}

/**
 * A client for the flags: with neither flag, the inline path with no worker
 * threads (stripe buffers still come from the shared arena, so the kernels
 * run on them in place); with either, worker engines (default 'auto') under
 * the policy (default 'auto'). close() ends its threads.
 */
export function engineFor(flags: EngineFlags): Engine {
  const none = flags.workers === undefined && flags.policy === undefined;
  const policy = flags.policy ?? (none ? 'inline' : 'auto');
  const client = createClient({ workers: flags.workers ?? (none ? 0 : 'auto'), policy });
  const workers = client.devices().filter((d) => d.name !== 'software').reduce((n, d) => n + d.channels.length, 0);
  const label = workers === 0 ? 'inline (no workers)' : `${workers} worker${workers === 1 ? '' : 's'}, policy ${policy}`;
  return { ops: client, label, close: () => client.close() };
}

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

/** Opens member paths; closes the ones opened if a later one fails. */
export async function openMembers(paths: readonly string[], readonly: boolean): Promise<FileMember[]> {
  if (paths.length === 0) throw new InvalidArgumentError('no member paths given');
  const out: FileMember[] = [];
  try {
    for (const p of paths) out.push(await FileMember.open(p, { readonly }));
  } catch (err) {
    await Promise.all(out.map((m) => m.close()));
    throw err;
  }
  return out;
}

/**
 * Opens and assembles on the engines the flags ask for; warnings go to
 * stderr. The array owns (and stop() closes) the members and the client.
 */
export async function openArray(paths: readonly string[], flags: ArrayFlags): Promise<Assembled> {
  const readonly = flags.readonly === true;
  const members: Member[] = await openMembers(paths, readonly);
  const engine = engineFor(flags);
  try {
    const assembled = await assemble(members, {
      readonly,
      force: flags.force === true,
      ownsMembers: true,
      ops: engine.ops,
      ownsOps: true,
      log: (msg) => note(flags, msg),
    });
    return assembled;
  } catch (err) {
    await Promise.all(members.map((m) => m.close()));
    await engine.close();
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

/** Prints a value as one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
