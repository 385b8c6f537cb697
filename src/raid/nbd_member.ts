/**
 * A member whose bytes live on an NBD server, named by libnbd's URI forms:
 * `nbd://HOST[:PORT]/EXPORT` (TCP, port 10809 by default) and
 * `nbd+unix:///EXPORT?socket=PATH`. Server errors reject the request, so the
 * array marks the member faulty exactly as for a failing file.
 */
// The client (and node:net) is loaded when a member is opened: naming NBD URIs costs a command on files nothing.
import type { NbdAddress, NbdClient } from '../nbd/client.js';
import { RaidUsageError } from './errors.js';
import { QueueDepth, type Member } from './member.js';

/** A URI that names no NBD export we can reach. */
export class NbdUriError extends RaidUsageError {
  constructor(uri: string, why: string) {
    super(`"${uri}" is not an NBD URI we accept (${why}); use nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH`);
  }
}

export const NBD_DEFAULT_PORT = 10809;

/** True when `path` is meant as an NBD URI rather than a file. */
export function isNbdUri(path: string): boolean {
  return /^nbd(\+unix)?:\/\//i.test(path);
}

/** Parses an NBD URI into an address and an export name. */
export function parseNbdUri(uri: string): { address: NbdAddress; exportName: string } {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new NbdUriError(uri, 'not a URI');
  }
  const exportName = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (u.username || u.password) throw new NbdUriError(uri, 'user names and passwords are not supported');
  if (u.hash) throw new NbdUriError(uri, 'a fragment has no meaning here');
  if (u.protocol === 'nbd:') {
    if (!u.hostname) throw new NbdUriError(uri, 'no host');
    if ([...u.searchParams.keys()].length) throw new NbdUriError(uri, 'nbd:// takes no query parameters');
    const port = u.port === '' ? NBD_DEFAULT_PORT : Number(u.port);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    return { address: { host, port }, exportName };
  }
  if (u.protocol === 'nbd+unix:') {
    if (u.host) throw new NbdUriError(uri, 'nbd+unix:// takes no host (three slashes: nbd+unix:///EXPORT?socket=PATH)');
    const keys = [...u.searchParams.keys()];
    const path = u.searchParams.get('socket');
    if (!path) throw new NbdUriError(uri, 'no socket=PATH');
    const other = keys.filter((k) => k !== 'socket');
    if (other.length || keys.length > 1) throw new NbdUriError(uri, `unsupported query parameter ${other[0] ?? 'socket (twice)'}`);
    return { address: { path }, exportName };
  }
  throw new NbdUriError(uri, `scheme ${u.protocol.replace(/:$/, '')}:// (TLS and vsock forms are not supported)`);
}

export interface NbdMemberOptions {
  /** Never write (the export may still be writable). */
  readonly readonly?: boolean;
  /** Requests in flight at once on this member (default 16). */
  readonly queueDepth?: number;
  /**
   * Milliseconds the server may leave the connection's oldest request (or the
   * handshake) unanswered before the member fails with NbdTimeoutError (the
   * array marks it faulty, as for an I/O error). 0: wait forever. Default 30 s.
   */
  readonly timeoutMs?: number;
}

/** A RAID member over an NBD connection. */
export class NbdMember implements Member {
  private readonly queue: QueueDepth;
  private constructor(
    readonly name: string,
    private readonly client: NbdClient,
    private readonly readonly: boolean,
    depth: number,
  ) {
    this.queue = new QueueDepth(depth);
  }

  /**
   * Connects to the export a URI names.
   * @throws NbdUriError (the URI), RaidUsageError (a bad timeout, a read-only export opened for writing),
   *   NbdTimeoutError (no handshake within the timeout), ProtocolError (export refused), the socket's error.
   */
  static async open(uri: string, opts: NbdMemberOptions = {}): Promise<NbdMember> {
    const { address, exportName } = parseNbdUri(uri);
    const { DEFAULT_NBD_TIMEOUT_MS, NbdClient } = await import('../nbd/client.js');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_NBD_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RaidUsageError(`timeoutMs must be a non-negative number of milliseconds (0: none), not ${String(timeoutMs)}`);
    }
    const client = await NbdClient.connect(address, exportName, { timeoutMs });
    if (client.info.readonly && !opts.readonly) {
      await client.close();
      throw new RaidUsageError(`${uri} is a read-only export; open it read-only`);
    }
    return new NbdMember(uri, client, opts.readonly === true, opts.queueDepth ?? 16);
  }

  get size(): number {
    return this.client.size;
  }

  read(buf: Uint8Array, position: number): Promise<void> {
    return this.queue.run(() => this.client.read([buf], position));
  }

  readv(bufs: readonly Uint8Array[], position: number): Promise<void> {
    return this.queue.run(() => this.client.read(bufs, position));
  }

  write(buf: Uint8Array, position: number): Promise<void> {
    return this.writev([buf], position);
  }

  writev(bufs: readonly Uint8Array[], position: number): Promise<void> {
    if (this.readonly) return Promise.reject(new RaidUsageError(`${this.name} was opened read-only`));
    return this.queue.run(() => this.client.write(bufs, position));
  }

  sync(): Promise<void> {
    return this.client.flush();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
