/**
 * The transmission phase for one connection: requests are read in order and
 * run concurrently (replies go out as each finishes, so out of order); every
 * request is checked before the target is touched. With structured replies a
 * READ is answered in data chunks of at most READ_PIECE bytes, each sent when
 * its part is read, and a part that fails is reported by offset while the
 * others still arrive. A malformed frame ends this connection only.
 */
import type { Socket } from 'node:net';
import { BufferPool } from './buffer_pool.js';
import { CMD, CMDF, ERR, MAX_PAYLOAD, REQUEST_MAGIC, TF } from './constants.js';
import { ProtocolError, type Session } from './handshake.js';
import { ConnectionClosed, type FrameReader } from './reader.js';
import { Replies } from './replies.js';
import { TargetError, type BlockTarget } from './target.js';

interface Request {
  readonly flags: number;
  readonly type: number;
  readonly handle: Buffer;
  readonly offset: number;
  readonly length: number;
}

/** The most bytes one structured READ chunk carries (parts of a larger read run concurrently). */
export const READ_PIECE = 1 << 20;

/** One zero buffer for WRITE_ZEROES on targets without writeZeroes (targets never write into data they are given). */
const ZEROES = Buffer.alloc(READ_PIECE);

/** The command flags each command may carry (proto.md: any other is EINVAL); FUA is valid on every command. */
const ALLOWED_FLAGS: Readonly<Record<number, number>> = {
  [CMD.READ]: CMDF.FUA | CMDF.DF,
  [CMD.WRITE]: CMDF.FUA,
  [CMD.FLUSH]: CMDF.FUA,
  [CMD.TRIM]: CMDF.FUA,
  [CMD.WRITE_ZEROES]: CMDF.FUA | CMDF.NO_HOLE | CMDF.FAST_ZERO,
  [CMD.BLOCK_STATUS]: CMDF.FUA | CMDF.REQ_ONE,
};

const NAMES: Readonly<Record<number, string>> = { 0: 'READ', 1: 'WRITE', 3: 'FLUSH', 4: 'TRIM', 6: 'WRITE_ZEROES', 7: 'BLOCK_STATUS' };

/** Why a request may not run, as [NBD error, message], or null when it may (proto.md's rules). */
function validate(r: Request, target: BlockTarget, s: Session): [number, string] | null {
  const allowed = ALLOWED_FLAGS[r.type];
  if (allowed === undefined) return [ERR.EINVAL, `unknown command ${r.type}`];
  const name = NAMES[r.type]!;
  if (r.flags & ~allowed) return [ERR.EINVAL, `flags 0x${r.flags.toString(16)} are not valid on ${name}`];
  if (r.flags & CMDF.DF && !(s.flags & TF.SEND_DF)) return [ERR.EINVAL, 'DF without structured replies'];
  if (r.type === CMD.BLOCK_STATUS && !s.allocationContext) return [ERR.EINVAL, 'BLOCK_STATUS without a metadata context (NBD_OPT_SET_META_CONTEXT base:allocation)'];
  if (r.type !== CMD.FLUSH) {
    const sized = r.type === CMD.READ || r.type === CMD.WRITE || r.type === CMD.WRITE_ZEROES;
    if (sized && r.length > MAX_PAYLOAD) return [r.type === CMD.WRITE_ZEROES ? ERR.EINVAL : ERR.EOVERFLOW, `${name} of ${r.length} bytes exceeds the ${MAX_PAYLOAD}-byte maximum`];
    if (r.type === CMD.BLOCK_STATUS && r.length === 0) return [ERR.EINVAL, 'BLOCK_STATUS of 0 bytes'];
    if (r.offset + r.length > target.size) {
      const errno = r.type === CMD.READ || r.type === CMD.BLOCK_STATUS ? ERR.EINVAL : ERR.ENOSPC;
      return [errno, `${name} of ${r.length} bytes at ${r.offset} passes the end of the ${target.size}-byte export`];
    }
  }
  const writes = r.type === CMD.WRITE || r.type === CMD.TRIM || r.type === CMD.WRITE_ZEROES;
  if (writes && s.flags & TF.READ_ONLY) return [ERR.EPERM, 'the export is read-only'];
  if (r.flags & CMDF.FAST_ZERO) return [ERR.ENOTSUP, 'fast zeroing is not supported'];
  return null;
}

const errnoOf = (e: unknown): number => (e instanceof TargetError ? e.errno : ERR.EIO);
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Splits [offset, offset+length) at multiples of `piece`. */
function pieces(offset: number, length: number, piece: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = offset; at < offset + length; ) {
    const end = Math.min(offset + length, (Math.floor(at / piece) + 1) * piece);
    out.push([at, end - at]);
    at = end;
  }
  return out;
}

/** A READ answered in structured chunks: one chunk (marked final) when it fits, else parts and a final NONE. */
async function structuredRead(r: Request, target: BlockTarget, out: Replies, pool: BufferPool): Promise<void> {
  const parts = r.flags & CMDF.DF ? [[r.offset, r.length] as [number, number]] : pieces(r.offset, r.length, READ_PIECE);
  if (parts.length === 0) return out.none(r.handle);
  const one = parts.length === 1;
  await Promise.all(
    parts.map(async ([at, len]) => {
      const buf = pool.take(len);
      try {
        await target.read(buf, at);
        out.data(r.handle, at, buf, one, () => pool.give(buf));
      } catch (e) {
        pool.give(buf); // a target settles only once it is done with the buffer
        out.error(r.handle, errnoOf(e), messageOf(e), at, one);
      }
    }),
  );
  if (!one) out.none(r.handle);
}

async function writeZeroes(target: BlockTarget, offset: number, length: number): Promise<void> {
  if (target.writeZeroes) return target.writeZeroes(offset, length);
  await Promise.all(pieces(offset, length, ZEROES.length).map(([at, len]) => target.write(ZEROES.subarray(0, len), at)));
}

/** Runs a checked request and sends its reply. */
async function execute(r: Request, target: BlockTarget, payload: Buffer | null, s: Session, out: Replies, pool: BufferPool): Promise<void> {
  try {
    switch (r.type) {
      case CMD.READ: {
        if (s.structured) return await structuredRead(r, target, out, pool);
        const buf = pool.take(r.length);
        await target.read(buf, r.offset).catch((e: unknown) => {
          pool.give(buf);
          throw e;
        });
        return out.simple(r.handle, 0, buf, () => pool.give(buf));
      }
      case CMD.BLOCK_STATUS:
        // Everything is allocated data of unknown content (status 0): see meta_context.ts.
        return out.blockStatus(r.handle, s.allocationContext, [[r.length, 0]]);
      case CMD.WRITE:
        await target.write(payload!, r.offset).finally(() => pool.give(payload!));
        break;
      case CMD.WRITE_ZEROES:
        await writeZeroes(target, r.offset, r.length);
        break;
      case CMD.TRIM:
        // TRIM is advisory: the bytes may stay as they are.
        break;
      case CMD.FLUSH:
        await target.flush();
        return out.simple(r.handle, 0);
    }
    if (r.flags & CMDF.FUA) await target.flush();
    out.simple(r.handle, 0);
  } catch (e) {
    out.fail(r.handle, errnoOf(e), messageOf(e));
  }
}

/**
 * The next request header, or null when the client hung up between requests (many clients, nbdfuse
 * among them, close without NBD_CMD_DISC: that is an end, not an error). A close inside a frame throws.
 */
async function nextHeader(reader: FrameReader): Promise<Buffer | null> {
  try {
    return await reader.read(28);
  } catch (e) {
    if (e instanceof ConnectionClosed && reader.pending === 0) return null;
    throw e;
  }
}

/**
 * Serves requests until DISC, end of stream or a protocol error; resolves when in-flight requests replied.
 * READ buffers and WRITE payloads come from `pool` (shared by a server's connections) and go
 * back once sent or written.
 */
export async function serveTransmission(sock: Socket, reader: FrameReader, target: BlockTarget, session: Session, pool = new BufferPool()): Promise<void> {
  const inflight = new Set<Promise<void>>();
  const out = new Replies(sock, session.structured);
  try {
    for (;;) {
      const h = await nextHeader(reader);
      if (!h) break;
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
        const into = pool.take(r.length);
        payload = await reader.read(r.length, into).catch((e: unknown) => {
          pool.give(into);
          throw e;
        });
      }
      const bad = validate(r, target, session);
      if (bad) {
        if (payload) pool.give(payload);
        out.fail(r.handle, bad[0], bad[1]);
        continue;
      }
      const t = execute(r, target, payload, session, out, pool).finally(() => inflight.delete(t));
      inflight.add(t);
    }
  } finally {
    await Promise.all(inflight);
  }
}
