/**
 * READ buffers and WRITE payloads reused across requests. A fresh 256 KiB Buffer per request is
 * an external allocation V8 counts towards its heap limit, so streaming reads
 * set off a major GC every few hundred requests: on a 2-core machine the
 * marking threads took about a sixth of the CPU an nbdcopy read had. Buffers
 * come back once the socket has taken their bytes (the write's callback), and
 * only that many are kept, up to `maxBytes`.
 */

/** The most bytes kept idle in one pool (nbdcopy's default 4 × 64 requests of 256 KiB in flight). */
export const DEFAULT_POOL_BYTES = 64 << 20;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private idle = 0;

  constructor(private readonly maxBytes = DEFAULT_POOL_BYTES) {}

  /** A buffer of exactly `length` bytes, contents unspecified. */
  take(length: number): Buffer {
    const list = this.free.get(length);
    const buf = list?.pop();
    if (!buf) return Buffer.allocUnsafe(length);
    this.idle -= length;
    return buf;
  }

  /**
   * Hands `buf` back for reuse. The caller must hold no reference that is still read or
   * written (a target read still in flight into it, a socket write not yet done).
   */
  give(buf: Buffer): void {
    // Small buffers come from Node's shared slab (allocUnsafe): never worth keeping.
    if (buf.length < 4096 || this.idle + buf.length > this.maxBytes) return;
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.idle += buf.length;
  }

  /** Bytes held idle now. */
  get idleBytes(): number {
    return this.idle;
  }
}
