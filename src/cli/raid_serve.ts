/**
 * `asynctx raid serve`: an assembled array (healthy or degraded) served over
 * NBD until SIGINT/SIGTERM; then it stops accepting, lets requests in flight
 * reply, flushes, marks the array clean and exits 0.
 */
import { InvalidArgumentError } from './commander.js';
import { NbdServer, type ListenAddress } from '../nbd/index.js';
import { ArrayTarget } from '../raid/nbd_target.js';
import { note, openArray, type ArrayFlags } from './raid_common.js';
import { resyncIfNeeded } from './raid_io.js';

export interface ServeFlags extends ArrayFlags {
  socket?: string;
  listen?: string;
  export?: string;
}

/** Parses HOST:PORT (IPv6 as [addr]:port). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : -1;
  if (!m || port > 65535) throw new InvalidArgumentError(`--listen must be HOST:PORT (for example 127.0.0.1:10809), not "${value}"`);
  return { host: m[1] ?? m[2]!, port };
}

export async function raidServe(paths: string[], flags: ServeFlags): Promise<void> {
  if (flags.socket && flags.listen) throw new InvalidArgumentError('--socket and --listen do not mix');
  const addr: ListenAddress = flags.socket ? { path: flags.socket } : parseListen(flags.listen ?? '127.0.0.1:10809');
  const { array } = await openArray(paths, flags);
  let server: NbdServer | null = null;
  let stop = () => undefined as void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  try {
    if (!array.readonly) await resyncIfNeeded(array, flags);
    server = new NbdServer(new ArrayTarget(array), { exportName: flags.export ?? '', readonly: flags.readonly, log: (m) => note(flags, m) });
    // Listening for the signals before the ready line: a script that stops the server as soon as it
    // reads the line must not find the default handler (which would kill it with the array dirty).
    process.once('SIGINT', stop).once('SIGTERM', stop);
    const bound = await server.listen(addr);
    const where = 'path' in bound ? `nbd+unix:///${flags.export ?? ''}?socket=${bound.path}` : `nbd://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}/${flags.export ?? ''}`;
    if (flags.json) process.stdout.write(JSON.stringify({ listening: where, export: flags.export ?? '', size: array.size }) + '\n');
    else process.stdout.write(`serving ${array.size} bytes at ${where}\n`);
    await stopped;
    await server.close();
    server = null;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    await server?.close().catch(() => undefined);
    await array.stop();
  }
}
