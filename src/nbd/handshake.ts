/**
 * Server side of the fixed newstyle handshake (proto.md): greeting, client
 * flags, then options until EXPORT_NAME or GO moves to transmission, or ABORT
 * ends. Options this server does not implement get ERR_UNSUP.
 */
import type { Socket } from 'node:net';
import { FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT, INFO, MAX_OPTION, MAX_PAYLOAD, NBDMAGIC, OPT, REP, REPLY_MAGIC } from './constants.js';
import type { FrameReader } from './reader.js';

/** What the handshake needs to know about the export. */
export interface ExportInfo {
  readonly name: string;
  readonly size: number;
  readonly transmissionFlags: number;
  readonly minBlock: number;
  readonly preferredBlock: number;
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

function infoExport(e: ExportInfo): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(INFO.EXPORT, 0);
  b.writeBigUInt64BE(BigInt(e.size), 2);
  b.writeUInt16BE(e.transmissionFlags, 10);
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

/** Parses an INFO/GO payload: export name and requested info types. Null when malformed. */
function parseInfoRequest(data: Buffer): string | null {
  if (data.length < 6) return null;
  const nameLen = data.readUInt32BE(0);
  if (4 + nameLen + 2 > data.length) return null;
  const count = data.readUInt16BE(4 + nameLen);
  if (4 + nameLen + 2 + count * 2 !== data.length) return null;
  return data.toString('utf8', 4, 4 + nameLen);
}

/**
 * Runs the handshake. Resolves true when transmission starts, false when the
 * client aborted or ended politely. Throws ProtocolError (or a closed
 * connection) on malformed input.
 */
export async function serverHandshake(sock: Socket, reader: FrameReader, exp: ExportInfo): Promise<boolean> {
  const g = Buffer.alloc(18);
  g.writeBigUInt64BE(NBDMAGIC, 0);
  g.writeBigUInt64BE(IHAVEOPT, 8);
  g.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  sock.write(g);
  const clientFlags = (await reader.read(4)).readUInt32BE(0);
  if (clientFlags & ~(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)) throw new ProtocolError(`unknown client flags 0x${clientFlags.toString(16)}`);
  const noZeroes = (clientFlags & FLAG_NO_ZEROES) !== 0;
  const matches = (name: string) => name === exp.name || name === '';
  for (;;) {
    const h = await reader.read(16);
    if (h.readBigUInt64BE(0) !== IHAVEOPT) throw new ProtocolError('bad option magic');
    const opt = h.readUInt32BE(8);
    const len = h.readUInt32BE(12);
    if (len > MAX_OPTION) throw new ProtocolError(`option ${opt} payload of ${len} bytes is too large`);
    const data = await reader.read(len);
    switch (opt) {
      case OPT.EXPORT_NAME: {
        // No error reply exists for EXPORT_NAME: an unknown name closes the connection.
        if (!matches(data.toString('utf8'))) throw new ProtocolError('unknown export name');
        const r = Buffer.alloc(noZeroes ? 10 : 134);
        r.writeBigUInt64BE(BigInt(exp.size), 0);
        r.writeUInt16BE(exp.transmissionFlags, 8);
        sock.write(r);
        return true;
      }
      case OPT.ABORT:
        optReply(sock, opt, REP.ACK);
        return false;
      case OPT.LIST: {
        if (len !== 0) {
          optReply(sock, opt, REP.ERR_INVALID);
          break;
        }
        const name = Buffer.from(exp.name, 'utf8');
        const d = Buffer.alloc(4 + name.length);
        d.writeUInt32BE(name.length, 0);
        name.copy(d, 4);
        optReply(sock, opt, REP.SERVER, d);
        optReply(sock, opt, REP.ACK);
        break;
      }
      case OPT.INFO:
      case OPT.GO: {
        const name = parseInfoRequest(data);
        if (name === null) optReply(sock, opt, REP.ERR_INVALID);
        else if (!matches(name)) optReply(sock, opt, REP.ERR_UNKNOWN);
        else {
          // Sent whatever was asked: EXPORT is mandatory, BLOCK_SIZE always helps.
          optReply(sock, opt, REP.INFO, infoExport(exp));
          optReply(sock, opt, REP.INFO, infoBlockSize(exp));
          optReply(sock, opt, REP.ACK);
          if (opt === OPT.GO) return true;
        }
        break;
      }
      default:
        optReply(sock, opt, REP.ERR_UNSUP);
    }
  }
}
