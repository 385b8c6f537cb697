/**
 * Reads exact byte counts from a socket without polling: chunks are queued as
 * they arrive and a pending read resolves when enough are there. End of stream
 * or a socket error rejects the pending read (and every later one).
 */
import type { Socket } from 'node:net';

export class ConnectionClosed extends Error {
  constructor(message = 'connection closed') {
    super(message);
    this.name = 'ConnectionClosed';
  }
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private want: { n: number; into?: Buffer; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      // Backpressure: stop reading while a large backlog waits for the consumer.
      if (this.buffered > 64 << 20) socket.pause();
      this.pump();
    });
    const end = (err?: Error) => {
      this.ended ??= err ?? new ConnectionClosed();
      this.pump();
    };
    socket.on('end', () => end());
    socket.on('close', () => end());
    socket.on('error', (e) => end(new ConnectionClosed(e.message)));
  }

  /** Bytes received and not yet read (0 at a frame boundary). */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Resolves with exactly `n` bytes: a view of what arrived when it came in one piece, else a
   * new buffer; in `into` (its first `n` bytes, resolved as that view) when given, always.
   */
  read(n: number, into?: Buffer): Promise<Buffer> {
    if (this.want) return Promise.reject(new Error('FrameReader: one read at a time'));
    if (into && into.length < n) return Promise.reject(new RangeError(`FrameReader: ${n} bytes do not fit a ${into.length}-byte buffer`));
    return new Promise((resolve, reject) => {
      this.want = { n, into, resolve, reject };
      this.pump();
    });
  }

  private pump(): void {
    const w = this.want;
    if (!w) return;
    if (this.buffered >= w.n) {
      this.want = null;
      w.resolve(this.take(w.n, w.into));
      if (this.buffered <= 64 << 20) this.socket.resume();
    } else if (this.ended) {
      this.want = null;
      w.reject(this.ended);
    }
  }

  private take(n: number, into?: Buffer): Buffer {
    if (n === 0) return into ? into.subarray(0, 0) : Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (!into && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = into ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - got);
      c.copy(out, got, 0, k);
      got += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}
