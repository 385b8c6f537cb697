/**
 * A block target in memory for the NBD tests: a byte buffer, a log of what
 * the server asked of it (so a test can see a FUA write flushed before its
 * reply), and ranges whose reads fail, to make the server report errors.
 */
import { TargetError, type BlockTarget } from '../../src/nbd/index.js';

export class MemoryTarget implements BlockTarget {
  readonly bytes: Buffer;
  readonly preferredBlockSize = 4096;
  readonly flushCoversAll = true;
  /** Every call, in order: 'read OFF LEN', 'write OFF LEN', 'flush'. */
  readonly log: string[] = [];
  /** Reads that overlap one of these [offset, length) ranges fail with EIO. */
  readonly badRanges: Array<[number, number]> = [];

  constructor(
    readonly size: number,
    readonly readonly = false,
  ) {
    this.bytes = Buffer.alloc(size);
  }

  async read(buf: Uint8Array, offset: number): Promise<void> {
    this.log.push(`read ${offset} ${buf.length}`);
    await Promise.resolve();
    if (this.badRanges.some(([o, l]) => offset < o + l && o < offset + buf.length)) throw new TargetError(`injected read error at ${offset}`);
    this.bytes.copy(buf, 0, offset, offset + buf.length);
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    this.log.push(`write ${offset} ${data.length}`);
    await Promise.resolve();
    Buffer.from(data.buffer, data.byteOffset, data.length).copy(this.bytes, offset);
  }

  async flush(): Promise<void> {
    this.log.push('flush');
    await Promise.resolve();
  }
}
