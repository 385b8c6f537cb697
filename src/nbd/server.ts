/**
 * An NBD server over one block target, on TCP or a unix socket. Each
 * connection runs the handshake (structured replies and base:allocation are
 * per connection) and then transmission; a bad or vanished
 * client ends its own connection only. close() stops accepting, lets requests
 * in flight reply, and then flushes the target.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { TF } from './constants.js';
import { BufferPool } from './buffer_pool.js';
import { serverHandshake, type ExportInfo } from './handshake.js';
import { FrameReader } from './reader.js';
import type { BlockTarget } from './target.js';
import { serveTransmission } from './transmission.js';

export interface NbdServerOptions {
  /** The export's name (clients may also ask for the default, ""). */
  readonly exportName?: string;
  /** Serve read-only even when the target takes writes. */
  readonly readonly?: boolean;
  /** Called with one line per dropped connection. */
  readonly log?: (message: string) => void;
}

/** Where to listen: a TCP host and port, or a unix socket path. */
export type ListenAddress = { readonly host: string; readonly port: number } | { readonly path: string };

/** The address cannot be listened on. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

/** True when something accepts connections on the unix socket `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path, () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export class NbdServer {
  private readonly server: Server;
  private readonly conns = new Set<Promise<void>>();
  private readonly sockets = new Set<Socket>();
  /** READ buffers and WRITE payloads, shared by the connections (a multi-conn client's requests spread over them). */
  private readonly buffers: BufferPool;
  readonly info: ExportInfo;
  /** Connections accepted so far, and the most open at once. */
  readonly stats = { connections: 0, peakConnections: 0 };

  constructor(
    readonly target: BlockTarget,
    private readonly opts: NbdServerOptions = {},
  ) {
    let tf = TF.HAS_FLAGS | TF.SEND_FLUSH | TF.SEND_FUA | TF.SEND_TRIM | TF.SEND_WRITE_ZEROES;
    if (opts.readonly || target.readonly) tf |= TF.READ_ONLY;
    if (target.flushCoversAll) tf |= TF.CAN_MULTI_CONN;
    this.info = { name: opts.exportName ?? '', size: target.size, transmissionFlags: tf, minBlock: 1, preferredBlock: target.preferredBlockSize };
    const { allocBuffer, freeBuffer } = target;
    const source = allocBuffer && freeBuffer ? { alloc: allocBuffer.bind(target), free: freeBuffer.bind(target) } : null;
    this.buffers = new BufferPool(undefined, source);
    this.server = createServer((sock) => this.accept(sock));
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /**
   * Starts listening; resolves with the bound address (port filled in when 0 was asked). A unix
   * socket left behind by a server that died (nothing answers on it) is replaced.
   * @throws ListenError when the socket path is taken (a live server, or not a socket); the OS's error otherwise.
   */
  async listen(addr: ListenAddress): Promise<ListenAddress> {
    if (!('path' in addr)) return this.bind(addr);
    try {
      return await this.bind(addr);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (!lstatSync(addr.path, { throwIfNoEntry: false })?.isSocket()) throw new ListenError(`${addr.path} exists and is not a socket`);
      if (await answers(addr.path)) throw new ListenError(`${addr.path}: another server is listening on this socket`);
      unlinkSync(addr.path);
      return this.bind(addr);
    }
  }

  private bind(addr: ListenAddress): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a && 'port' in a ? { host: a.address, port: a.port } : addr);
      };
      if ('path' in addr) this.server.listen(addr.path, done);
      else this.server.listen(addr.port, addr.host, done);
    });
  }

  private accept(sock: Socket): void {
    sock.setNoDelay(true);
    this.sockets.add(sock);
    this.stats.connections++;
    this.stats.peakConnections = Math.max(this.stats.peakConnections, this.sockets.size);
    const reader = new FrameReader(sock);
    const run = (async () => {
      try {
        const session = await serverHandshake(sock, reader, this.info);
        if (session) await serveTransmission(sock, reader, this.target, session, this.buffers);
        sock.end();
      } catch (err) {
        this.opts.log?.(`connection dropped: ${(err as Error).message}`);
        sock.destroy();
      } finally {
        this.sockets.delete(sock);
      }
    })();
    const t = run.finally(() => this.conns.delete(t));
    this.conns.add(t);
  }

  /** Stops accepting, ends idle connections after their requests in flight reply, then flushes. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    // Ending the read side makes each connection's loop stop after what it already read.
    for (const s of this.sockets) s.push(null);
    await Promise.all(this.conns);
    for (const s of this.sockets) s.destroy();
    await closed;
    this.buffers.drain();
    if (!this.info.transmissionFlags || !(this.info.transmissionFlags & TF.READ_ONLY)) await this.target.flush();
  }
}
