/**
 * Server side of the fixed newstyle handshake (proto.md): greeting, client
 * flags, then options until EXPORT_NAME or GO moves to transmission, or ABORT
 * ends. STRUCTURED_REPLY and the base:allocation metadata context are
 * negotiated per connection; options this server does not implement get
 * ERR_UNSUP.
 */
import type { Socket } from 'node:net';
import { FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT, INFO, MAX_OPTION, MAX_PAYLOAD, NBDMAGIC, OPT, REP, REPLY_MAGIC, TF } from './constants.js';
import { BASE_ALLOCATION_ID, matchContexts, parseMetaRequest } from './meta_context.js';
import type { FrameReader } from './reader.js';

/** What the handshake needs to know about the export. */
export interface ExportInfo {
  readonly name: string;
  readonly size: number;
  readonly transmissionFlags: number;
  readonly minBlock: number;
  readonly preferredBlock: number;
}

/** What one connection negotiated, for its transmission phase. */
export interface Session {
  /** NBD_OPT_STRUCTURED_REPLY was acknowledged: READ replies are structured. */
  readonly structured: boolean;
  /** The id of base:allocation when NBD_OPT_SET_META_CONTEXT selected it, else 0 (BLOCK_STATUS refused). */
  readonly allocationContext: number;
  /** This connection's transmission flags: the export's, with SEND_DF once replies are structured. */
  readonly flags: number;
}

/** A protocol violation: the connection is dropped. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

function optReply(sock: Socket, opt: number, type: number, data: Buffer = Buffer.alloc(0)): void {
  const h = Buffer.alloc(20);
  h.writeBigUInt64BE(REPLY_MAGIC, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(type, 12);
  h.writeUInt32BE(data.length, 16);
  sock.write(data.length ? Buffer.concat([h, data]) : h);
}

/** An error reply with a message for the user (every error reply may carry one). */
function optError(sock: Socket, opt: number, type: number, why: string): void {
  optReply(sock, opt, type, Buffer.from(why, 'utf8'));
}

function infoExport(size: number, flags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(INFO.EXPORT, 0);
  b.writeBigUInt64BE(BigInt(size), 2);
  b.writeUInt16BE(flags, 10);
  return b;
}

function infoBlockSize(e: ExportInfo): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(INFO.BLOCK_SIZE, 0);
  b.writeUInt32BE(e.minBlock, 2);
  b.writeUInt32BE(e.preferredBlock, 6);
  b.writeUInt32BE(MAX_PAYLOAD, 10);
  return b;
}

function metaContextReply(id: number, name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(4 + n.length);
  b.writeUInt32BE(id, 0);
  n.copy(b, 4);
  return b;
}

/** Parses an INFO/GO payload: export name and requested info types. Null when malformed. */
function parseInfoRequest(data: Buffer): string | null {
  if (data.length < 6) return null;
  const nameLen = data.readUInt32BE(0);
  if (4 + nameLen + 2 > data.length) return null;
  const count = data.readUInt16BE(4 + nameLen);
  if (4 + nameLen + 2 + count * 2 !== data.length) return null;
  return data.toString('utf8', 4, 4 + nameLen);
}

/** The option haggling of one connection: its state, and one handler per option. */
class Negotiation {
  structured = false;
  allocationContext = 0;

  constructor(
    private readonly sock: Socket,
    private readonly exp: ExportInfo,
    private readonly noZeroes: boolean,
  ) {}

  get flags(): number {
    return this.exp.transmissionFlags | (this.structured ? TF.SEND_DF : 0);
  }

  private matches(name: string): boolean {
    return name === this.exp.name || name === '';
  }

  /** Handles one option: 'go' when transmission starts, 'abort' when the client ended, else 'more'. */
  option(opt: number, data: Buffer): 'go' | 'abort' | 'more' {
    switch (opt) {
      case OPT.EXPORT_NAME: {
        // No error reply exists for EXPORT_NAME: an unknown name closes the connection.
        if (!this.matches(data.toString('utf8'))) throw new ProtocolError('unknown export name');
        const r = Buffer.alloc(this.noZeroes ? 10 : 134);
        r.writeBigUInt64BE(BigInt(this.exp.size), 0);
        r.writeUInt16BE(this.flags, 8);
        this.sock.write(r);
        return 'go';
      }
      case OPT.ABORT:
        optReply(this.sock, opt, REP.ACK);
        return 'abort';
      case OPT.LIST:
        this.list(data);
        return 'more';
      case OPT.INFO:
      case OPT.GO:
        return this.info(opt, data) && opt === OPT.GO ? 'go' : 'more';
      case OPT.STRUCTURED_REPLY:
        if (data.length !== 0) optError(this.sock, opt, REP.ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data');
        else {
          this.structured = true;
          optReply(this.sock, opt, REP.ACK);
        }
        return 'more';
      case OPT.LIST_META_CONTEXT:
      case OPT.SET_META_CONTEXT:
        this.metaContext(opt, data);
        return 'more';
      default:
        optReply(this.sock, opt, REP.ERR_UNSUP);
        return 'more';
    }
  }

  private list(data: Buffer): void {
    if (data.length !== 0) return optError(this.sock, OPT.LIST, REP.ERR_INVALID, 'NBD_OPT_LIST takes no data');
    const name = Buffer.from(this.exp.name, 'utf8');
    const d = Buffer.alloc(4 + name.length);
    d.writeUInt32BE(name.length, 0);
    name.copy(d, 4);
    optReply(this.sock, OPT.LIST, REP.SERVER, d);
    optReply(this.sock, OPT.LIST, REP.ACK);
  }

  /** INFO or GO: true when acknowledged. */
  private info(opt: number, data: Buffer): boolean {
    const name = parseInfoRequest(data);
    if (name === null) optError(this.sock, opt, REP.ERR_INVALID, 'malformed NBD_OPT_INFO/GO payload');
    else if (!this.matches(name)) optError(this.sock, opt, REP.ERR_UNKNOWN, `no export named "${name}"`);
    else {
      // Sent whatever was asked: EXPORT is mandatory, BLOCK_SIZE always helps.
      optReply(this.sock, opt, REP.INFO, infoExport(this.exp.size, this.flags));
      optReply(this.sock, opt, REP.INFO, infoBlockSize(this.exp));
      optReply(this.sock, opt, REP.ACK);
      return true;
    }
    return false;
  }

  /** LIST_META_CONTEXT lists base:allocation; SET_META_CONTEXT selects it (or nothing: a SET always replaces). */
  private metaContext(opt: number, data: Buffer): void {
    const set = opt === OPT.SET_META_CONTEXT;
    if (set) this.allocationContext = 0;
    if (!this.structured) return optError(this.sock, opt, REP.ERR_INVALID, 'metadata contexts need structured replies (NBD_OPT_STRUCTURED_REPLY) first');
    const req = parseMetaRequest(data);
    if (req === null) return optError(this.sock, opt, REP.ERR_INVALID, 'malformed metadata context request');
    if (!this.matches(req.exportName)) return optError(this.sock, opt, REP.ERR_UNKNOWN, `no export named "${req.exportName}"`);
    for (const name of matchContexts(req.queries, !set)) {
      // LIST's ids are reserved (zero); SET's id is what BLOCK_STATUS replies carry.
      optReply(this.sock, opt, REP.META_CONTEXT, metaContextReply(set ? BASE_ALLOCATION_ID : 0, name));
      if (set) this.allocationContext = BASE_ALLOCATION_ID;
    }
    optReply(this.sock, opt, REP.ACK);
  }
}

/**
 * Runs the handshake. Resolves with what the connection negotiated when
 * transmission starts, or null when the client aborted. Throws ProtocolError
 * (or a closed connection) on malformed input.
 */
export async function serverHandshake(sock: Socket, reader: FrameReader, exp: ExportInfo): Promise<Session | null> {
  const g = Buffer.alloc(18);
  g.writeBigUInt64BE(NBDMAGIC, 0);
  g.writeBigUInt64BE(IHAVEOPT, 8);
  g.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  sock.write(g);
  const clientFlags = (await reader.read(4)).readUInt32BE(0);
  if (clientFlags & ~(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)) throw new ProtocolError(`unknown client flags 0x${clientFlags.toString(16)}`);
  const n = new Negotiation(sock, exp, (clientFlags & FLAG_NO_ZEROES) !== 0);
  for (;;) {
    const h = await reader.read(16);
    if (h.readBigUInt64BE(0) !== IHAVEOPT) throw new ProtocolError('bad option magic');
    const opt = h.readUInt32BE(8);
    const len = h.readUInt32BE(12);
    if (len > MAX_OPTION) throw new ProtocolError(`option ${opt} payload of ${len} bytes is too large`);
    const step = n.option(opt, await reader.read(len));
    if (step === 'abort') return null;
    if (step === 'go') return { structured: n.structured, allocationContext: n.allocationContext, flags: n.flags };
  }
}
