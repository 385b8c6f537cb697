/**
 * A block target: what the NBD server serves. It knows nothing of NBD; the
 * server checks ranges and flags before calling it.
 */
export interface BlockTarget {
  /** Size in bytes. */
  readonly size: number;
  /** True when writes are refused (the server advertises READ_ONLY). */
  readonly readonly: boolean;
  /** Preferred I/O size (a full stripe for an array); a power of two is best for clients. */
  readonly preferredBlockSize: number;
  /** True when flush() on any connection makes every completed write durable (CAN_MULTI_CONN). */
  readonly flushCoversAll: boolean;
  /**
   * Reads exactly buf.length bytes at `offset`. It settles, resolving or rejecting, only once
   * nothing of the target touches `buf` any more: the server then reuses it.
   */
  read(buf: Uint8Array, offset: number): Promise<void>;
  /**
   * Writes all of `data` at `offset`; resolves once the write is complete on the backing store.
   * As for read, it settles only once the target is done with `data` (the server reuses it).
   */
  write(data: Uint8Array, offset: number): Promise<void>;
  /**
   * Memory for READ buffers and WRITE payloads that the target uses in place (an array's shared
   * arena); optional, with freeBuffer. Must not throw: fall back to ordinary memory instead.
   */
  allocBuffer?(length: number): Uint8Array;
  /** Takes back a buffer from allocBuffer. */
  freeBuffer?(buf: Uint8Array): void;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  /** Writes `length` zero bytes at `offset` (optional: the server writes a zero buffer). */
  writeZeroes?(offset: number, length: number): Promise<void>;
}

/** An I/O error a target reports, mapped to an NBD error value (EIO unless given). */
export class TargetError extends Error {
  constructor(message: string, readonly errno: number = 5) {
    super(message);
    this.name = 'TargetError';
  }
}
