/**
 * The transmission phase for one connection: requests are read in order and
 * run concurrently (replies go out as each finishes, so out of order); every
 * request is checked before the target is touched. A malformed frame ends this
 * connection only.
 */
import type { Socket } from 'node:net';
import { CMD, CMDF, ERR, MAX_PAYLOAD, REQUEST_MAGIC, SIMPLE_REPLY_MAGIC, TF } from './constants.js';
import { ProtocolError } from './handshake.js';
import type { FrameReader } from './reader.js';
import { TargetError, type BlockTarget } from './target.js';

interface Request {
  readonly flags: number;
  readonly type: number;
  readonly handle: Buffer;
  readonly offset: number;
  readonly length: number;
}

function reply(sock: Socket, handle: Buffer, error: number, data?: Uint8Array): void {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  h.writeUInt32BE(error, 4);
  handle.copy(h, 8);
  if (sock.destroyed) return;
  sock.write(h);
  if (data) sock.write(data);
}

/** The NBD error for a request, or 0 when it may run (proto.md's rules). */
function validate(r: Request, target: BlockTarget, tflags: number): number {
  const known = CMDF.FUA | CMDF.NO_HOLE | CMDF.FAST_ZERO | CMDF.DF | CMDF.REQ_ONE;
  if (r.flags & ~known) return ERR.EINVAL;
  const ranged = r.type === CMD.READ || r.type === CMD.WRITE || r.type === CMD.TRIM || r.type === CMD.WRITE_ZEROES;
  if (ranged) {
    if (r.length > MAX_PAYLOAD && (r.type === CMD.READ || r.type === CMD.WRITE)) return ERR.EOVERFLOW;
    if (r.offset + r.length > target.size) return r.type === CMD.READ ? ERR.EINVAL : ERR.ENOSPC;
  }
  const writes = r.type === CMD.WRITE || r.type === CMD.TRIM || r.type === CMD.WRITE_ZEROES;
  if (writes && tflags & TF.READ_ONLY) return ERR.EPERM;
  if (r.flags & CMDF.FAST_ZERO) return ERR.ENOTSUP;
  return 0;
}

async function execute(r: Request, target: BlockTarget, payload: Buffer | null): Promise<Uint8Array | undefined> {
  switch (r.type) {
    case CMD.READ: {
      const buf = Buffer.allocUnsafe(r.length);
      await target.read(buf, r.offset);
      return buf;
    }
    case CMD.WRITE:
      await target.write(payload!, r.offset);
      break;
    case CMD.WRITE_ZEROES:
      if (target.writeZeroes) await target.writeZeroes(r.offset, r.length);
      else await target.write(Buffer.alloc(r.length), r.offset);
      break;
    case CMD.TRIM:
      // TRIM is advisory: the bytes may stay as they are.
      break;
    case CMD.FLUSH:
      await target.flush();
      return undefined;
  }
  if (r.flags & CMDF.FUA) await target.flush();
  return undefined;
}

/** Serves requests until DISC, end of stream or a protocol error; resolves when in-flight requests replied. */
export async function serveTransmission(sock: Socket, reader: FrameReader, target: BlockTarget, tflags: number): Promise<void> {
  const inflight = new Set<Promise<void>>();
  try {
    for (;;) {
      const h = await reader.read(28);
      if (h.readUInt32BE(0) !== REQUEST_MAGIC) throw new ProtocolError('bad request magic');
      const r: Request = {
        flags: h.readUInt16BE(4),
        type: h.readUInt16BE(6),
        handle: Buffer.from(h.subarray(8, 16)),
        offset: Number(h.readBigUInt64BE(16)),
        length: h.readUInt32BE(24),
      };
      if (r.type === CMD.DISC) break;
      let payload: Buffer | null = null;
      if (r.type === CMD.WRITE) {
        // A payload this large cannot be skipped safely: the stream is no longer trusted.
        if (r.length > MAX_PAYLOAD) throw new ProtocolError('write payload too large');
        payload = await reader.read(r.length);
      }
      const known = r.type === CMD.READ || r.type === CMD.WRITE || r.type === CMD.FLUSH || r.type === CMD.TRIM || r.type === CMD.WRITE_ZEROES;
      const err = known ? validate(r, target, tflags) : ERR.EINVAL;
      if (err) {
        reply(sock, r.handle, err);
        continue;
      }
      const p = execute(r, target, payload).then(
        (data) => reply(sock, r.handle, 0, data),
        (e: unknown) => reply(sock, r.handle, e instanceof TargetError ? e.errno : ERR.EIO),
      );
      const t = p.finally(() => inflight.delete(t));
      inflight.add(t);
    }
  } finally {
    await Promise.all(inflight);
  }
}
