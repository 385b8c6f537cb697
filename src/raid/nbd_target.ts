/**
 * An assembled array as an NBD block target: reads and writes go through the
 * stripe cache; flush is the array's flush (every completed write made
 * durable on every member), so a flush on any connection covers every replied
 * write and CAN_MULTI_CONN is honest. The server's buffers come from the
 * array's arena.
 */
import type { BlockTarget } from '../nbd/index.js';
import type { RaidArray } from './array.js';
import { allocStripeBuffer, freeStripeBuffer } from './ops.js';

export class ArrayTarget implements BlockTarget {
  readonly flushCoversAll = true;
  constructor(private readonly array: RaidArray) {}

  get size(): number {
    return this.array.size;
  }
  get readonly(): boolean {
    return this.array.readonly;
  }
  /** A full stripe when it is a power of two (clients align to it), else 4096. */
  get preferredBlockSize(): number {
    const row = this.array.layout.chunkBytes * this.array.layout.dataDisks;
    return (row & (row - 1)) === 0 && row <= 32 << 20 ? row : 4096;
  }
  read(buf: Uint8Array, offset: number): Promise<void> {
    return this.array.read(buf, offset);
  }
  write(data: Uint8Array, offset: number): Promise<void> {
    return this.array.write(data, offset);
  }
  /** In the array's shared arena when its ops have one: parity is computed from WRITE payloads in place, not from a copy. */
  allocBuffer(length: number): Uint8Array {
    return allocStripeBuffer(this.array.ops, length);
  }
  freeBuffer(buf: Uint8Array): void {
    freeStripeBuffer(this.array.ops, buf);
  }
  flush(): Promise<void> {
    return this.array.flush();
  }
}
