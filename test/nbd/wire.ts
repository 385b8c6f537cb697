/**
 * A raw NBD peer for protocol tests: sends option and request frames byte by
 * byte as proto.md lays them out and parses what comes back (option replies,
 * simple replies, structured chunks), so tests see the server's wire format
 * itself rather than what a client library makes of it.
 */
import { connect, type Socket } from 'node:net';
import { FrameReader } from '../../src/nbd/reader.js';

const IHAVEOPT = 0x49484156454f5054n;
export const STRUCTURED = 0x668e33ef;
export const SIMPLE = 0x67446698;

export interface OptReply {
  readonly type: number;
  readonly data: Buffer;
}

export interface Chunk {
  readonly flags: number;
  readonly type: number;
  readonly handle: bigint;
  readonly payload: Buffer;
}

export type Reply = { kind: 'simple'; error: number; handle: bigint } | ({ kind: 'chunk' } & Chunk);

export class Wire {
  private constructor(
    readonly sock: Socket,
    readonly rd: FrameReader,
  ) {}

  /** Connects, reads the greeting and sends fixed-newstyle + no-zeroes client flags. */
  static async open(path: string): Promise<Wire> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });
    const w = new Wire(sock, new FrameReader(sock));
    const hello = await w.rd.read(18);
    if (hello.readBigUInt64BE(8) !== IHAVEOPT) throw new Error('not a newstyle server');
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(3);
    sock.write(flags);
    return w;
  }

  /** Sends one option; resolves with every reply up to the final one (ACK or an error). */
  async option(opt: number, data: Buffer = Buffer.alloc(0)): Promise<OptReply[]> {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(IHAVEOPT, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(data.length, 12);
    this.sock.write(Buffer.concat([h, data]));
    const out: OptReply[] = [];
    for (;;) {
      const r = await this.rd.read(20);
      const type = r.readUInt32BE(12);
      const body = await this.rd.read(r.readUInt32BE(16));
      out.push({ type, data: body });
      if (type === 1 || type & 0x80000000) return out;
    }
  }

  /** NBD_OPT_GO for the default export; returns the transmission flags from NBD_INFO_EXPORT. */
  async go(): Promise<number> {
    const replies = await this.option(7, Buffer.from([0, 0, 0, 0, 0, 0]));
    const info = replies.find((r) => r.type === 3 && r.data.readUInt16BE(0) === 0);
    if (!info || replies.at(-1)!.type !== 1) throw new Error(`GO refused: ${replies.map((r) => r.type.toString(16)).join(',')}`);
    return info.data.readUInt16BE(10);
  }

  /** Sends a request (and a WRITE's payload). */
  request(type: number, handle: bigint, offset: number, length: number, flags = 0, payload?: Buffer): void {
    const b = Buffer.alloc(28);
    b.writeUInt32BE(0x25609513, 0);
    b.writeUInt16BE(flags, 4);
    b.writeUInt16BE(type, 6);
    b.writeBigUInt64BE(handle, 8);
    b.writeBigUInt64BE(BigInt(offset), 16);
    b.writeUInt32BE(length, 24);
    this.sock.write(payload ? Buffer.concat([b, payload]) : b);
  }

  /** Reads one reply message; a simple READ reply's data is read with `simpleData` bytes. */
  async reply(simpleData = 0): Promise<Reply & { data?: Buffer }> {
    const h = await this.rd.read(4);
    const magic = h.readUInt32BE(0);
    if (magic === SIMPLE) {
      const r = await this.rd.read(12);
      const error = r.readUInt32BE(0);
      const data = error === 0 && simpleData ? await this.rd.read(simpleData) : undefined;
      return { kind: 'simple', error, handle: r.readBigUInt64BE(4), ...(data ? { data } : {}) };
    }
    if (magic !== STRUCTURED) throw new Error(`bad reply magic 0x${magic.toString(16)}`);
    const r = await this.rd.read(16);
    const payload = await this.rd.read(r.readUInt32BE(12));
    return { kind: 'chunk', flags: r.readUInt16BE(0), type: r.readUInt16BE(2), handle: r.readBigUInt64BE(4), payload };
  }

  /** Reads structured chunks until the one with the DONE flag. */
  async chunks(): Promise<Chunk[]> {
    const out: Chunk[] = [];
    for (;;) {
      const r = await this.reply();
      if (r.kind !== 'chunk') throw new Error(`simple reply (error ${r.error}) where a structured one was due`);
      out.push(r);
      if (r.flags & 1) return out;
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** A LIST/SET_META_CONTEXT payload for the default export. */
export function metaQuery(...queries: string[]): Buffer {
  const parts = [Buffer.alloc(4), Buffer.alloc(4)];
  parts[1]!.writeUInt32BE(queries.length);
  for (const q of queries) {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(Buffer.byteLength(q));
    parts.push(l, Buffer.from(q));
  }
  return Buffer.concat(parts);
}
