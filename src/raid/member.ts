/**
 * Members: where a RAID slot's bytes live. Files and block devices use
 * positional I/O on a raw file descriptor (no shared file position, so many
 * requests may be in flight), bounded by a queue depth per member; the
 * in-memory member serves tests and can be told to fail, as a dying disk would.
 *
 * The I/O calls are callback-style fs (fs.read/write/readv/writev on the fd),
 * not FileHandle promises: a FileHandle request costs the main thread about
 * twice the CPU of the callback form (its promise glue and per-call handle
 * bookkeeping), whatever the size, and a RAID-6 read-modify-write issues six.
 */
import { stat, readFile } from 'node:fs/promises';
import * as fs from 'node:fs';
import { constants } from 'node:fs';

/** fs.open as a promise (callback form: one libuv request, no FileHandle). */
function openFd(path: string, flags: number, mode?: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function fstatFd(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

/** One positional transfer; resolves with the byte count the kernel moved. */
function transfer(write: boolean, fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (err: NodeJS.ErrnoException | null, n: number): void => (err ? reject(err) : resolve(n));
    if (write) fs.write(fd, buf, off, len, pos, done);
    else fs.read(fd, buf, off, len, pos, done);
  });
}

/** One preadv/pwritev; resolves with the byte count the kernel moved. */
function transferv(write: boolean, fd: number, bufs: readonly Uint8Array[], pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (err: NodeJS.ErrnoException | null, n: number): void => (err ? reject(err) : resolve(n));
    if (write) fs.writev(fd, bufs as Uint8Array[], pos, done);
    else fs.readv(fd, bufs as Uint8Array[], pos, done);
  });
}

/** One member device, addressed in bytes from its start. */
export interface Member {
  /** Path, or a label for in-memory members. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Reads exactly buf.length bytes at `position`. Rejects on any error or short read. */
  read(buf: Uint8Array, position: number): Promise<void>;
  /** Writes all of buf at `position`. */
  write(buf: Uint8Array, position: number): Promise<void>;
  /** Reads exactly the bytes of `bufs`, one after another, from `position` (one request; optional). */
  readv?(bufs: readonly Uint8Array[], position: number): Promise<void>;
  /** Writes all of `bufs`, one after another, at `position` (one request; optional). */
  writev?(bufs: readonly Uint8Array[], position: number): Promise<void>;
  /** Makes written data durable (fdatasync). */
  sync(): Promise<void>;
  /**
   * Writes all of buf at `position` and resolves once that write alone is durable (REQ_FUA): other
   * writes still in a volatile cache stay there. Optional; without it, callers write, then sync.
   */
  writeFua?(buf: Uint8Array, position: number): Promise<void>;
  /**
   * False when the member has no volatile write cache (md's wb_cache_on off): every write is
   * durable once it completes, and a flush has nothing to do. Absent means it may have one.
   */
  readonly volatileCache?: boolean;
  close(): Promise<void>;
}

/** Counts I/O in flight and makes the next request wait past `depth` (backpressure, no spinning). */
export class QueueDepth {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(readonly depth: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.depth) await new Promise<void>((r) => this.waiters.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      // Hand the slot straight to the next waiter: `active` stays counted.
      if (next) next();
      else this.active--;
    }
  }
}

/** The buffers left after the first `n` bytes of `bufs` were transferred. */
function skipBytes(bufs: readonly Uint8Array[], n: number): readonly Uint8Array[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length;
  if (i === bufs.length) return [];
  return n === 0 ? bufs.slice(i) : [bufs[i]!.subarray(n), ...bufs.slice(i + 1)];
}

/** Options for opening a file or block device member. */
export interface FileMemberOptions {
  /** Open read-only (examine, read, check without repair). */
  readonly readonly?: boolean;
  /** Requests in flight at once on this member (default 16). */
  readonly queueDepth?: number;
  /**
   * Write through (O_DSYNC): every write is durable when it completes, as on a disk without a
   * volatile write cache. Slower; what a log's ordering costs is then only its own writes.
   */
  readonly writeThrough?: boolean;
}

async function blockDeviceSize(path: string, fd: number): Promise<number> {
  const st = await fstatFd(fd);
  if (!st.isBlockDevice()) return st.size;
  // fstat reports 0 for block devices; Linux publishes the size in sectors in sysfs.
  const rdev = st.rdev;
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  try {
    const s = await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8');
    return Number(s.trim()) * 512;
  } catch {
    throw new Error(`cannot find the size of block device ${path}`);
  }
}

/** A regular file or a block device. */
export class FileMember implements Member {
  private readonly queue: QueueDepth;
  private closed = false;
  /** A second descriptor opened O_DSYNC on first use: its writes are durable when they complete, and only they. */
  private fuaFd: Promise<number> | null = null;
  /** False when opened O_DSYNC (write through): then no write waits in a cache. */
  readonly volatileCache: boolean;
  private constructor(
    readonly name: string,
    readonly size: number,
    /** The open file descriptor (positional I/O only; engines that reach files may use it too). */
    readonly fd: number,
    depth: number,
    writeThrough = false,
  ) {
    this.queue = new QueueDepth(depth);
    // Every write on fd is durable already: FUA writes need no second descriptor.
    if (writeThrough) this.fuaFd = Promise.resolve(fd);
    this.volatileCache = !writeThrough;
  }

  /** Opens an existing file or block device. */
  static async open(path: string, opts: FileMemberOptions = {}): Promise<FileMember> {
    const fd = await openFd(path, opts.readonly ? constants.O_RDONLY : constants.O_RDWR | (opts.writeThrough ? constants.O_DSYNC : 0));
    try {
      const size = await blockDeviceSize(path, fd);
      return new FileMember(path, size, fd, opts.queueDepth ?? 16, opts.writeThrough === true);
    } catch (err) {
      await closeFd(fd);
      throw err;
    }
  }

  /** Creates (or extends) a sparse file of `size` bytes and opens it. Existing bytes are kept. */
  static async create(path: string, size: number, opts: FileMemberOptions = {}): Promise<FileMember> {
    const fd = await openFd(path, constants.O_RDWR | constants.O_CREAT | (opts.writeThrough ? constants.O_DSYNC : 0), 0o644);
    try {
      const st = await fstatFd(fd);
      if (st.isFile() && st.size < size) {
        await new Promise<void>((resolve, reject) => fs.ftruncate(fd, size, (err) => (err ? reject(err) : resolve())));
      }
      const real = await blockDeviceSize(path, fd);
      return new FileMember(path, real, fd, opts.queueDepth ?? 16, opts.writeThrough === true);
    } catch (err) {
      await closeFd(fd);
      throw err;
    }
  }

  read(buf: Uint8Array, position: number): Promise<void> {
    return this.queue.run(async () => {
      let done = 0;
      while (done < buf.length) {
        const bytesRead = await transfer(false, this.fd, buf, done, buf.length - done, position + done);
        if (bytesRead === 0) throw new Error(`short read at byte ${position + done} of ${this.name}`);
        done += bytesRead;
      }
    });
  }

  write(buf: Uint8Array, position: number): Promise<void> {
    return this.queue.run(async () => {
      let done = 0;
      while (done < buf.length) {
        const bytesWritten = await transfer(true, this.fd, buf, done, buf.length - done, position + done);
        done += bytesWritten;
      }
    });
  }

  /** One preadv per call (more only after a short read). */
  readv(bufs: readonly Uint8Array[], position: number): Promise<void> {
    return this.queue.run(async () => {
      let rest = bufs;
      let pos = position;
      while (rest.length) {
        const bytesRead = await transferv(false, this.fd, rest, pos);
        if (bytesRead === 0) throw new Error(`short read at byte ${pos} of ${this.name}`);
        pos += bytesRead;
        rest = skipBytes(rest, bytesRead);
      }
    });
  }

  /** One pwritev per call (more only after a short write). */
  writev(bufs: readonly Uint8Array[], position: number): Promise<void> {
    return this.queue.run(async () => {
      let rest = bufs;
      let pos = position;
      while (rest.length) {
        const bytesWritten = await transferv(true, this.fd, rest, pos);
        pos += bytesWritten;
        rest = skipBytes(rest, bytesWritten);
      }
    });
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * An O_DSYNC write: Linux writes back just that range and flushes the device's cache, where
   * fdatasync would write back every dirty page of the file first.
   */
  writeFua(buf: Uint8Array, position: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.name} is closed`));
    this.fuaFd ??= openFd(this.name, constants.O_WRONLY | constants.O_DSYNC);
    const fuaFd = this.fuaFd;
    return this.queue.run(async () => {
      const fd = await fuaFd;
      let done = 0;
      while (done < buf.length) done += await transfer(true, fd, buf, done, buf.length - done, position + done);
    });
  }

  /**
   * Closes the descriptor once. A raw fd number is reused by the next open, so
   * a second close would close someone else's file: later calls are no-ops.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    const fua = this.fuaFd?.then((fd) => (fd === this.fd ? undefined : closeFd(fd)), () => undefined) ?? Promise.resolve();
    return Promise.all([closeFd(this.fd), fua]).then(() => undefined);
  }
}

/** Faults an in-memory member injects; each returns true to fail that request. */
export interface MemoryFaults {
  read?: (position: number, length: number) => boolean;
  write?: (position: number, length: number) => boolean;
}

/** A member held in memory, for tests. `faults` may be set at any time to make it fail. */
export class MemoryMember implements Member {
  readonly data: Uint8Array;
  faults: MemoryFaults = {};
  reads = 0;
  writes = 0;
  constructor(
    readonly name: string,
    sizeOrData: number | Uint8Array,
  ) {
    this.data = typeof sizeOrData === 'number' ? new Uint8Array(sizeOrData) : sizeOrData;
  }
  get size(): number {
    return this.data.length;
  }

  async read(buf: Uint8Array, position: number): Promise<void> {
    await Promise.resolve(); // always asynchronous, like a device
    if (this.faults.read?.(position, buf.length)) throw new Error(`injected read error at byte ${position} of ${this.name}`);
    if (position + buf.length > this.data.length) throw new Error(`read past the end of ${this.name}`);
    this.reads++;
    buf.set(this.data.subarray(position, position + buf.length));
  }

  async write(buf: Uint8Array, position: number): Promise<void> {
    await Promise.resolve();
    if (this.faults.write?.(position, buf.length)) throw new Error(`injected write error at byte ${position} of ${this.name}`);
    if (position + buf.length > this.data.length) throw new Error(`write past the end of ${this.name}`);
    this.writes++;
    this.data.set(buf, position);
  }

  async readv(bufs: readonly Uint8Array[], position: number): Promise<void> {
    const total = bufs.reduce((n, b) => n + b.length, 0);
    await Promise.resolve();
    if (this.faults.read?.(position, total)) throw new Error(`injected read error at byte ${position} of ${this.name}`);
    if (position + total > this.data.length) throw new Error(`read past the end of ${this.name}`);
    this.reads++;
    for (const b of bufs) {
      b.set(this.data.subarray(position, position + b.length));
      position += b.length;
    }
  }

  async writev(bufs: readonly Uint8Array[], position: number): Promise<void> {
    const total = bufs.reduce((n, b) => n + b.length, 0);
    await Promise.resolve();
    if (this.faults.write?.(position, total)) throw new Error(`injected write error at byte ${position} of ${this.name}`);
    if (position + total > this.data.length) throw new Error(`write past the end of ${this.name}`);
    this.writes++;
    for (const b of bufs) {
      this.data.set(b, position);
      position += b.length;
    }
  }

  async sync(): Promise<void> {}
  async close(): Promise<void> {}
}

/** True when `path` names an existing file or device. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
