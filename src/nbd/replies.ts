/**
 * The replies of one connection's transmission phase (proto.md): simple
 * replies, and structured reply chunks once NBD_OPT_STRUCTURED_REPLY was
 * negotiated. Every message is written whole, corked into one vectored
 * write (header and payload in one syscall, so the client is woken once per
 * message, not once per piece), and chunks of different requests interleave
 * only between messages.
 */
import type { Socket } from 'node:net';
import { CHUNK, REPLY_FLAG_DONE, SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_MAGIC } from './constants.js';

/** Error messages in chunks are for people; the spec caps strings at 4096 bytes. */
const MAX_MESSAGE = 1024;

export class Replies {
  constructor(
    private readonly sock: Socket,
    /** Structured replies were negotiated on this connection. */
    readonly structured: boolean,
  ) {}

  /**
   * A simple reply: the error (0 for success) and, for a successful unstructured READ, its data.
   * `written` runs once the socket no longer needs `data` (sent, or the connection is gone).
   */
  simple(handle: Buffer, error: number, data?: Uint8Array, written?: () => void): void {
    const h = Buffer.allocUnsafe(16);
    h.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
    h.writeUInt32BE(error, 4);
    handle.copy(h, 8);
    this.send(h, data, written);
  }

  /** NBD_REPLY_TYPE_OFFSET_DATA: `data` (at least one byte) at export `offset`; `written` as for simple(). */
  data(handle: Buffer, offset: number, data: Uint8Array, done: boolean, written?: () => void): void {
    // The offset is the chunk's first 8 payload bytes: it goes out in the header's buffer.
    const h = this.header(handle, CHUNK.OFFSET_DATA, done, 8 + data.length, 8);
    h.writeBigUInt64BE(BigInt(offset), 20);
    this.send(h, data, written);
  }

  /** NBD_REPLY_TYPE_NONE: the final chunk of a reply whose other chunks said everything. */
  none(handle: Buffer): void {
    this.chunk(handle, CHUNK.NONE, true, []);
  }

  /**
   * An error chunk: NBD_REPLY_TYPE_ERROR_OFFSET when `offset` names where the
   * failure lies (the client may keep the data chunks outside it), else
   * NBD_REPLY_TYPE_ERROR (nothing of the request is valid).
   */
  error(handle: Buffer, errno: number, message: string, offset: number | null, done: boolean): void {
    const text = Buffer.from(message, 'utf8').subarray(0, MAX_MESSAGE);
    const head = Buffer.alloc(6);
    head.writeUInt32BE(errno, 0);
    head.writeUInt16BE(text.length, 4);
    const parts = [head, text];
    if (offset !== null) {
      const off = Buffer.alloc(8);
      off.writeBigUInt64BE(BigInt(offset), 0);
      parts.push(off);
    }
    this.chunk(handle, offset === null ? CHUNK.ERROR : CHUNK.ERROR_OFFSET, done, parts);
  }

  /** NBD_REPLY_TYPE_BLOCK_STATUS for one context: consecutive [length, flags] extents. */
  blockStatus(handle: Buffer, contextId: number, extents: ReadonlyArray<readonly [number, number]>): void {
    const b = Buffer.alloc(4 + 8 * extents.length);
    b.writeUInt32BE(contextId, 0);
    extents.forEach(([len, flags], i) => {
      b.writeUInt32BE(len, 4 + 8 * i);
      b.writeUInt32BE(flags, 8 + 8 * i);
    });
    this.chunk(handle, CHUNK.BLOCK_STATUS, true, [b]);
  }

  /** A request failed as a whole: an error chunk with the message when structured, else a simple reply. */
  fail(handle: Buffer, errno: number, message: string): void {
    if (this.structured) this.error(handle, errno, message, null, true);
    else this.simple(handle, errno);
  }

  private chunk(handle: Buffer, type: number, done: boolean, parts: readonly Uint8Array[]): void {
    const h = this.header(handle, type, done, parts.reduce((n, p) => n + p.length, 0), 0);
    this.send(parts.length ? Buffer.concat([h, ...parts]) : h);
  }

  /** A structured chunk's 20-byte header for `length` payload bytes, with `extra` bytes of room after it. */
  private header(handle: Buffer, type: number, done: boolean, length: number, extra: number): Buffer {
    const h = Buffer.allocUnsafe(20 + extra);
    h.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
    h.writeUInt16BE(done ? REPLY_FLAG_DONE : 0, 4);
    h.writeUInt16BE(type, 6);
    handle.copy(h, 8);
    h.writeUInt32BE(length, 16);
    return h;
  }

  /** One message: `head`, then `data` when given, in one corked write; `written` runs once `data` is no longer needed. */
  private send(head: Buffer, data?: Uint8Array, written?: () => void): void {
    if (this.sock.destroyed) return written?.();
    if (!data?.length) {
      this.sock.write(head);
      return written?.();
    }
    this.sock.cork();
    this.sock.write(head);
    // The callback also runs (with an error) when the socket is destroyed first: the buffer is free either way.
    this.sock.write(data, written && (() => written()));
    this.sock.uncork();
  }
}
