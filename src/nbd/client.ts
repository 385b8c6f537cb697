/**
 * An NBD client (fixed newstyle, NBD_OPT_GO, simple replies). Several requests
 * may be in flight; replies are matched to requests by handle, so a server
 * that answers out of order is fine. A server error rejects that request with
 * an NbdRequestError naming the errno; a connection that closes rejects every
 * request still in flight (and every later one). A server that stops
 * answering fails the connection with NbdTimeoutError once the oldest
 * request (or the handshake) has waited `timeoutMs`; one timer runs only
 * while requests are in flight, so an idle connection costs nothing.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CMD, CMDF, ERR, FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT, INFO, NBDMAGIC, OPT, REP, REPLY_MAGIC, REQUEST_MAGIC, SIMPLE_REPLY_MAGIC, TF } from './constants.js';
import { ProtocolError } from './handshake.js';
import { ConnectionClosed, FrameReader } from './reader.js';

/** Where the server is: TCP host and port, or a unix socket path. */
export type NbdAddress = { readonly host: string; readonly port: number } | { readonly path: string };

/** What the server said about the export during NBD_OPT_GO. */
export interface NbdExport {
  readonly size: number;
  readonly flags: number;
  readonly readonly: boolean;
  readonly canFlush: boolean;
  readonly canFua: boolean;
  readonly minBlock: number;
  readonly preferredBlock: number;
  readonly maxPayload: number;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(ERR).map(([k, v]) => [v, k]));

/** The server answered a request with an error. */
export class NbdRequestError extends Error {
  constructor(
    readonly errno: number,
    readonly errnoName: string,
    message: string,
  ) {
    super(message);
    this.name = 'NbdRequestError';
  }
}

/** The server did not answer within the client's timeout: the connection is given up. */
export class NbdTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NbdTimeoutError';
  }
}

/** A client option or argument that cannot be used. */
export class NbdUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NbdUsageError';
  }
}

export interface NbdClientOptions {
  /**
   * Milliseconds the handshake, or the oldest request in flight, may wait for
   * the server before the connection fails with NbdTimeoutError (every request
   * in flight and every later one is rejected with it). 0: wait forever.
   * Default DEFAULT_NBD_TIMEOUT_MS.
   */
  readonly timeoutMs?: number;
}

/** The default client timeout: 30 s, as the Linux nbd driver's. */
export const DEFAULT_NBD_TIMEOUT_MS = 30_000;

interface Pending {
  readonly cmd: number;
  readonly offset: number;
  /** performance.now() when it was sent. */
  readonly sentAt: number;
  /** Where read payload lands (reads only). */
  readonly into: readonly Uint8Array[] | null;
  resolve(): void;
  reject(err: Error): void;
}

function header(magic: bigint, opt: number, len: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(magic, 0);
  b.writeUInt32BE(opt, 8);
  b.writeUInt32BE(len, 12);
  return b;
}

function openSocket(addr: NbdAddress): Socket {
  const s = 'path' in addr ? netConnect(addr.path) : netConnect(addr.port, addr.host);
  s.setNoDelay(true);
  return s;
}

function connected(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve();
    });
    s.once('error', reject);
  });
}

/** Rejects with NbdTimeoutError (and destroys the socket) if `work` has not settled within `ms`. */
async function bounded<T>(work: Promise<T>, sock: Socket, ms: number, what: string): Promise<T> {
  if (!ms) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      sock.destroy();
      reject(new NbdTimeoutError(`${what}: no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fixed-newstyle handshake up to an NBD_OPT_GO acknowledgement. */
async function handshake(sock: Socket, rd: FrameReader, exportName: string): Promise<NbdExport> {
  const hello = await rd.read(18);
  if (hello.readBigUInt64BE(0) !== NBDMAGIC || hello.readBigUInt64BE(8) !== IHAVEOPT) throw new ProtocolError('not an NBD newstyle server');
  const hsFlags = hello.readUInt16BE(16);
  if (!(hsFlags & FLAG_FIXED_NEWSTYLE)) throw new ProtocolError('server does not speak fixed newstyle');
  const clientFlags = Buffer.alloc(4);
  clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (hsFlags & FLAG_NO_ZEROES));
  const name = Buffer.from(exportName, 'utf8');
  // GO payload: name length, name, then the infos we ask for (block sizes).
  const go = Buffer.alloc(4 + name.length + 2 + 2);
  go.writeUInt32BE(name.length, 0);
  name.copy(go, 4);
  go.writeUInt16BE(1, 4 + name.length);
  go.writeUInt16BE(INFO.BLOCK_SIZE, 6 + name.length);
  sock.write(Buffer.concat([clientFlags, header(IHAVEOPT, OPT.GO, go.length), go]));
  let size = -1;
  let flags = 0;
  let block = { min: 1, preferred: 4096, max: 32 << 20 };
  for (;;) {
    const rep = await rd.read(20);
    if (rep.readBigUInt64BE(0) !== REPLY_MAGIC || rep.readUInt32BE(8) !== OPT.GO) throw new ProtocolError('bad option reply from server');
    const type = rep.readUInt32BE(12);
    const len = rep.readUInt32BE(16);
    if (len > 1 << 20) throw new ProtocolError(`option reply of ${len} bytes`);
    const data = await rd.read(len);
    if (type === REP.ACK) break;
    if (type & 0x80000000) {
      const why = data.length ? `: ${data.toString('utf8')}` : '';
      const kind = Object.entries(REP).find(([, v]) => v === type)?.[0] ?? `0x${type.toString(16)}`;
      throw new ProtocolError(`server refused export "${exportName}" (${kind})${why}`);
    }
    if (type !== REP.INFO || data.length < 2) continue;
    const info = data.readUInt16BE(0);
    if (info === INFO.EXPORT && data.length >= 12) {
      size = Number(data.readBigUInt64BE(2));
      flags = data.readUInt16BE(10);
    } else if (info === INFO.BLOCK_SIZE && data.length >= 14) {
      block = { min: data.readUInt32BE(2), preferred: data.readUInt32BE(6), max: data.readUInt32BE(10) };
    }
  }
  if (size < 0) throw new ProtocolError('server acknowledged GO without NBD_INFO_EXPORT');
  const has = (f: number) => (flags & TF.HAS_FLAGS) !== 0 && (flags & f) !== 0;
  return {
    size,
    flags,
    readonly: has(TF.READ_ONLY),
    canFlush: has(TF.SEND_FLUSH),
    canFua: has(TF.SEND_FUA),
    minBlock: block.min,
    preferredBlock: block.preferred,
    maxPayload: block.max,
  };
}

export class NbdClient {
  private readonly pending = new Map<bigint, Pending>();
  private nextHandle = 1n;
  private failed: Error | null = null;
  private closing = false;
  /** Armed only while requests are in flight: fires when the oldest may have waited too long. */
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly sock: Socket,
    private readonly rd: FrameReader,
    readonly info: NbdExport,
    readonly label: string,
    private readonly timeoutMs: number,
  ) {
    void this.replyLoop();
  }

  /**
   * Connects, negotiates `exportName` with NBD_OPT_GO and enters transmission.
   * @throws NbdUsageError for a bad timeout; NbdTimeoutError when the server does not finish the handshake within it;
   *   ProtocolError when it refuses the export or is not an NBD server; the socket's error when unreachable.
   */
  static async connect(addr: NbdAddress, exportName = '', opts: NbdClientOptions = {}): Promise<NbdClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_NBD_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new NbdUsageError(`timeoutMs must be a non-negative number of milliseconds, not ${timeoutMs}`);
    const where = 'path' in addr ? `unix:${addr.path}` : `${addr.host}:${addr.port}`;
    const sock = openSocket(addr);
    const rd = new FrameReader(sock);
    try {
      const info = await bounded(connected(sock).then(() => handshake(sock, rd, exportName)), sock, timeoutMs, `${where}: connect and handshake`);
      return new NbdClient(sock, rd, info, `${where}/${exportName}`, timeoutMs);
    } catch (err) {
      sock.destroy();
      throw err;
    }
  }

  get size(): number {
    return this.info.size;
  }

  read(bufs: readonly Uint8Array[], offset: number): Promise<void> {
    return this.request(CMD.READ, 0, offset, bufs, null);
  }

  write(bufs: readonly Uint8Array[], offset: number, fua = false): Promise<void> {
    if (this.info.readonly) return Promise.reject(new NbdRequestError(ERR.EPERM, 'EPERM', `${this.label} is read-only`));
    return this.request(CMD.WRITE, fua && this.info.canFua ? CMDF.FUA : 0, offset, null, bufs);
  }

  /** NBD_CMD_FLUSH; resolves at once when the server does not offer flush (nothing to make durable). */
  flush(): Promise<void> {
    if (!this.info.canFlush) return this.failed ? Promise.reject(this.failed) : Promise.resolve();
    return this.request(CMD.FLUSH, 0, 0, null, null);
  }

  /** Waits for requests in flight, sends NBD_CMD_DISC and closes the socket. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled([...this.pending.values()].map((p) => new Promise<void>((r) => {
      const { resolve, reject } = p;
      p.resolve = () => (resolve(), r());
      p.reject = (e) => (reject(e), r());
    })));
    if (!this.failed) {
      // Wait for the write, not for end(): the server closes on DISC, and a
      // socket destroyed before its shutdown completes never calls end's callback.
      const req = this.frame(CMD.DISC, 0, this.nextHandle++, 0, 0);
      await new Promise<void>((resolve) => this.sock.write(req, () => resolve()));
      this.sock.end();
    }
    this.sock.destroy();
    this.fail(new ConnectionClosed(`${this.label}: client closed`));
  }

  private frame(cmd: number, flags: number, handle: bigint, offset: number, len: number): Buffer {
    const b = Buffer.alloc(28);
    b.writeUInt32BE(REQUEST_MAGIC, 0);
    b.writeUInt16BE(flags, 4);
    b.writeUInt16BE(cmd, 6);
    b.writeBigUInt64BE(handle, 8);
    b.writeBigUInt64BE(BigInt(offset), 16);
    b.writeUInt32BE(len, 24);
    return b;
  }

  private request(cmd: number, flags: number, offset: number, into: readonly Uint8Array[] | null, data: readonly Uint8Array[] | null): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closing) return Promise.reject(new ConnectionClosed(`${this.label}: client closing`));
    const len = (into ?? data ?? []).reduce((n, b) => n + b.length, 0);
    if (offset < 0 || offset + len > this.info.size) {
      return Promise.reject(new NbdRequestError(ERR.EINVAL, 'EINVAL', `${this.label}: ${len} bytes at ${offset} pass the end (${this.info.size})`));
    }
    const handle = this.nextHandle++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(handle, { cmd, offset, sentAt: performance.now(), into, resolve, reject });
      this.arm();
      const hdr = this.frame(cmd, flags, handle, offset, len);
      if (data) {
        this.sock.cork();
        this.sock.write(hdr);
        for (const b of data) this.sock.write(b);
        this.sock.uncork();
      } else this.sock.write(hdr);
    });
  }

  /** Reads replies until the connection ends; each settles the request with its handle. */
  private async replyLoop(): Promise<void> {
    try {
      for (;;) {
        const rep = await this.rd.read(16);
        if (rep.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) throw new ProtocolError(`${this.label}: bad reply magic 0x${rep.readUInt32BE(0).toString(16)}`);
        const errno = rep.readUInt32BE(4);
        const handle = rep.readBigUInt64BE(8);
        const p = this.pending.get(handle);
        if (!p) throw new ProtocolError(`${this.label}: reply for unknown handle ${handle}`);
        if (errno !== 0) {
          this.settled(handle);
          const name = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
          const what = ['read', 'write', 'disc', 'flush'][p.cmd] ?? `command ${p.cmd}`;
          p.reject(new NbdRequestError(errno, name, `${this.label}: ${what} at byte ${p.offset} failed: ${name}`));
          continue;
        }
        // A simple read reply carries its payload only on success (no structured replies were negotiated).
        // The request stays in `pending` until its payload is in, so a connection lost mid-payload rejects it too.
        if (p.into) for (const b of p.into) if (b.length) (await this.rd.read(b.length)).copy(Buffer.from(b.buffer, b.byteOffset, b.length));
        this.settled(handle);
        p.resolve();
      }
    } catch (err) {
      const e = err instanceof ConnectionClosed ? new ConnectionClosed(`${this.label}: connection closed (${err.message})`) : (err as Error);
      this.fail(e);
      this.sock.destroy();
    }
  }

  private settled(handle: bigint): void {
    this.pending.delete(handle);
    if (this.pending.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Arms the timer for the oldest request in flight (Map order is send order), unless one is armed. */
  private arm(): void {
    if (this.timer || !this.timeoutMs || this.failed) return;
    const oldest = this.pending.values().next();
    if (oldest.done) return;
    const wait = Math.max(0, oldest.value.sentAt + this.timeoutMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const first = this.pending.values().next();
      if (first.done) return;
      if (performance.now() - first.value.sentAt < this.timeoutMs) return this.arm();
      const what = ['read', 'write', 'disc', 'flush'][first.value.cmd] ?? `command ${first.value.cmd}`;
      this.fail(new NbdTimeoutError(`${this.label}: ${what} at byte ${first.value.offset} had no answer within ${this.timeoutMs} ms; connection given up`));
      this.sock.destroy();
    }, wait);
  }

  private fail(err: Error): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.failed ??= err;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(this.failed);
  }
}
