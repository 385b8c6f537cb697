/**
 * An NBD client (fixed newstyle, NBD_OPT_GO, simple replies). Several requests
 * may be in flight; replies are matched to requests by handle, so a server
 * that answers out of order is fine. A server error rejects that request with
 * an NbdRequestError naming the errno; a connection that closes rejects every
 * request still in flight (and every later one).
 */
import { connect as netConnect, type Socket } from 'node:net';
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

interface Pending {
  readonly cmd: number;
  readonly offset: number;
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

function openSocket(addr: NbdAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = 'path' in addr ? netConnect(addr.path) : netConnect(addr.port, addr.host);
    s.once('connect', () => {
      s.removeListener('error', reject);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', reject);
  });
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

  private constructor(
    private readonly sock: Socket,
    private readonly rd: FrameReader,
    readonly info: NbdExport,
    readonly label: string,
  ) {
    void this.replyLoop();
  }

  /** Connects, negotiates `exportName` with NBD_OPT_GO and enters transmission. */
  static async connect(addr: NbdAddress, exportName = ''): Promise<NbdClient> {
    const sock = await openSocket(addr);
    const rd = new FrameReader(sock);
    try {
      const info = await handshake(sock, rd, exportName);
      const where = 'path' in addr ? `unix:${addr.path}` : `${addr.host}:${addr.port}`;
      return new NbdClient(sock, rd, info, `${where}/${exportName}`);
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
      this.pending.set(handle, { cmd, offset, into, resolve, reject });
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
          this.pending.delete(handle);
          const name = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
          const what = ['read', 'write', 'disc', 'flush'][p.cmd] ?? `command ${p.cmd}`;
          p.reject(new NbdRequestError(errno, name, `${this.label}: ${what} at byte ${p.offset} failed: ${name}`));
          continue;
        }
        // A simple read reply carries its payload only on success (no structured replies were negotiated).
        // The request stays in `pending` until its payload is in, so a connection lost mid-payload rejects it too.
        if (p.into) for (const b of p.into) if (b.length) (await this.rd.read(b.length)).copy(Buffer.from(b.buffer, b.byteOffset, b.length));
        this.pending.delete(handle);
        p.resolve();
      }
    } catch (err) {
      const e = err instanceof ConnectionClosed ? new ConnectionClosed(`${this.label}: connection closed (${err.message})`) : (err as Error);
      this.fail(e);
      this.sock.destroy();
    }
  }

  private fail(err: Error): void {
    this.failed ??= err;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(this.failed);
  }
}
