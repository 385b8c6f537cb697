/**
 * A block target in memory for the NBD tests: a byte buffer, a log of what
 * the server asked of it (so a test can see a FUA write flushed before its
 * reply), the most requests it held at once, ranges whose reads fail, and an
 * optional per-request delay (so replies can finish out of order).
 */
import { TargetError, type BlockTarget } from '../../src/nbd/index.js';

export class MemoryTarget implements BlockTarget {
  readonly bytes: Buffer;
  readonly preferredBlockSize = 4096;
  readonly flushCoversAll = true;
  /** Every call as it starts, in order: 'read OFF LEN', 'write OFF LEN', 'flush'. */
  readonly log: string[] = [];
  /** Calls as they finish. */
  readonly finished: string[] = [];
  /** Reads that overlap one of these [offset, length) ranges fail with EIO. */
  readonly badRanges: Array<[number, number]> = [];
  /** Milliseconds a read or write at `offset` takes (0: the next microtask). */
  delayMs: (offset: number) => number = () => 0;
  /** While set, every request waits for it first (a server that stops answering until the test lets go). */
  gate: Promise<void> | null = null;
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    readonly size: number,
    readonly readonly = false,
  ) {
    this.bytes = Buffer.alloc(size);
  }

  private async run(what: string, offset: number, body: () => void): Promise<void> {
    this.log.push(what);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      if (this.gate) await this.gate;
      const ms = this.delayMs(offset);
      await (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
      body();
      this.finished.push(what);
    } finally {
      this.inFlight--;
    }
  }

  read(buf: Uint8Array, offset: number): Promise<void> {
    return this.run(`read ${offset} ${buf.length}`, offset, () => {
      if (this.badRanges.some(([o, l]) => offset < o + l && o < offset + buf.length)) throw new TargetError(`injected read error at ${offset}`);
      this.bytes.copy(buf, 0, offset, offset + buf.length);
    });
  }

  write(data: Uint8Array, offset: number): Promise<void> {
    return this.run(`write ${offset} ${data.length}`, offset, () => void Buffer.from(data.buffer, data.byteOffset, data.length).copy(this.bytes, offset));
  }

  flush(): Promise<void> {
    return this.run('flush', 0, () => undefined);
  }
}
