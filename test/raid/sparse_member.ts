/** A test member of any size (gigabytes included) that keeps only the 4 KiB pages written to it. */
import type { Member } from '../../src/raid/index.js';

/** A member of any size that keeps only the 4 KiB pages written to it (reads of the rest are zeros). */
export class SparseMember implements Member {
  private readonly pages = new Map<number, Uint8Array>();
  constructor(
    readonly name: string,
    readonly size: number,
  ) {}
  private each(len: number, position: number, fn: (page: Uint8Array | undefined, pageNo: number, at: number, off: number, n: number) => void): void {
    if (position + len > this.size) throw new Error(`I/O past the end of ${this.name}`);
    for (let done = 0; done < len; ) {
      const abs = position + done;
      const pageNo = Math.floor(abs / 4096);
      const at = abs - pageNo * 4096;
      const n = Math.min(4096 - at, len - done);
      fn(this.pages.get(pageNo), pageNo, at, done, n);
      done += n;
    }
  }
  async read(buf: Uint8Array, position: number): Promise<void> {
    await Promise.resolve();
    this.each(buf.length, position, (page, _no, at, off, n) => {
      if (page) buf.set(page.subarray(at, at + n), off);
      else buf.fill(0, off, off + n);
    });
  }
  async write(buf: Uint8Array, position: number): Promise<void> {
    await Promise.resolve();
    this.each(buf.length, position, (page, no, at, off, n) => {
      const p = page ?? new Uint8Array(4096);
      p.set(buf.subarray(off, off + n), at);
      this.pages.set(no, p);
    });
  }
  async sync(): Promise<void> {}
  async close(): Promise<void> {}
}
