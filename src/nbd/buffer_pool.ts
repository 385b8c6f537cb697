/**
 * READ buffers and WRITE payloads reused across requests. A fresh 256 KiB Buffer per request is
 * an external allocation V8 counts towards its heap limit, so streaming reads
 * set off a major GC every few hundred requests: on a 2-core machine the
 * marking threads took about a sixth of the CPU an nbdcopy read had. Buffers
 * come back once the socket has taken their bytes (the write's callback), and
 * only that many are kept, up to `maxBytes`. A target may supply the memory
 * (an array's shared arena, where its engines compute parity in place rather
 * than copying each WRITE payload in first).
 */

/** The most bytes kept idle in one pool (nbdcopy's default 4 × 64 requests of 256 KiB in flight). */
export const DEFAULT_POOL_BYTES = 64 << 20;

/** Where a pool's buffers come from: memory the target works on in place (an array's shared arena). */
export interface BufferSource {
  alloc(length: number): Uint8Array;
  /** Takes back a buffer from alloc() that the pool does not keep. */
  free(buf: Uint8Array): void;
}

/** Small buffers are not worth keeping (allocUnsafe hands them out of Node's shared slab). */
const MIN_POOLED = 4096;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private idle = 0;

  constructor(
    private readonly maxBytes = DEFAULT_POOL_BYTES,
    private readonly source: BufferSource | null = null,
  ) {}

  /** A buffer of exactly `length` bytes, contents unspecified. */
  take(length: number): Buffer {
    const list = this.free.get(length);
    const buf = list?.pop();
    if (buf) {
      this.idle -= length;
      return buf;
    }
    if (!this.source || length < MIN_POOLED) return Buffer.allocUnsafe(length);
    const u8 = this.source.alloc(length);
    return Buffer.from(u8.buffer, u8.byteOffset, u8.length);
  }

  /**
   * Hands `buf` (from take()) back for reuse. The caller must hold no reference that is still
   * read or written (a target read still in flight into it, a socket write not yet done).
   */
  give(buf: Buffer): void {
    if (buf.length < MIN_POOLED) return;
    if (this.idle + buf.length > this.maxBytes) return this.source?.free(buf);
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.idle += buf.length;
  }

  /** Frees every idle buffer (to the source, when there is one); the pool stays usable. */
  drain(): void {
    for (const list of this.free.values()) for (const b of list) this.source?.free(b);
    this.free.clear();
    this.idle = 0;
  }

  /** Bytes held idle now. */
  get idleBytes(): number {
    return this.idle;
  }
}
