/**
 * Request merging per member, as the block layer's plug does: the requests
 * that reach a member in one turn of the event loop are sorted, and those of
 * one direction that meet end to end go out as one vectored request (preadv /
 * pwritev), so a run of consecutive stripes costs one I/O per member instead
 * of one per stripe head. The batch goes out at the end of the turn
 * (setImmediate), or at once when it reaches `maxBytes`, so the parity work
 * of later stripes overlaps the I/O of earlier ones rather than waiting for it.
 *
 * Requests in one batch come from different stripe heads (a head waits for
 * its own I/O), so they never overlap and their order does not matter: they
 * are all in flight together, as they were before merging.
 */
import type { Member } from './member.js';

/** The default largest merged request: 1 MiB, about the block layer's max_sectors_kb on common devices. */
export const DEFAULT_MERGE_BYTES = 1 << 20;

export interface MemberQueueOptions {
  /** Largest merged request, and the batch size that is issued without waiting for the turn to end (default DEFAULT_MERGE_BYTES). */
  readonly maxBytes?: number;
  /** Most buffers in one vectored request (default 1024, Linux's IOV_MAX). */
  readonly maxSegments?: number;
}

export interface MemberQueueStats {
  /** Requests submitted. */
  requests: number;
  /** Requests issued to the member after merging. */
  issued: number;
  bytes: number;
}

interface Request {
  readonly write: boolean;
  readonly buf: Uint8Array;
  readonly pos: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class MemberQueue {
  readonly stats: MemberQueueStats = { requests: 0, issued: 0, bytes: 0 };
  private pending: Request[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private readonly maxBytes: number;
  private readonly maxSegments: number;

  constructor(
    readonly member: Member,
    opts: MemberQueueOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_MERGE_BYTES;
    this.maxSegments = opts.maxSegments ?? 1024;
  }

  /** Reads or writes `buf` at byte `pos` of the member; settles with the (merged) request that carried it. */
  submit(write: boolean, buf: Uint8Array, pos: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ write, buf, pos, resolve, reject });
      this.stats.requests++;
      this.stats.bytes += buf.length;
      this.pendingBytes += buf.length;
      if (this.pendingBytes >= this.maxBytes) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Issues what is pending now, merged. */
  flush(): void {
    const reqs = this.pending;
    if (reqs.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    reqs.sort((a, b) => (a.write === b.write ? a.pos - b.pos : a.write ? 1 : -1));
    for (let i = 0; i < reqs.length; ) {
      const first = reqs[i]!;
      let end = first.pos + first.buf.length;
      let j = i + 1;
      for (; j < reqs.length && j - i < this.maxSegments; j++) {
        const r = reqs[j]!;
        if (r.write !== first.write || r.pos !== end || end + r.buf.length - first.pos > this.maxBytes) break;
        end += r.buf.length;
      }
      this.issue(reqs.slice(i, j));
      i = j;
    }
  }

  private issue(run: readonly Request[]): void {
    this.stats.issued++;
    const { write, pos } = run[0]!;
    const m = this.member;
    let p: Promise<void>;
    if (run.length === 1) p = write ? m.write(run[0]!.buf, pos) : m.read(run[0]!.buf, pos);
    else {
      const bufs = run.map((r) => r.buf);
      const vectored = write ? m.writev?.bind(m) : m.readv?.bind(m);
      p = vectored ? vectored(bufs, pos) : Promise.all(run.map((r) => (write ? m.write(r.buf, r.pos) : m.read(r.buf, r.pos)))).then(() => undefined);
    }
    p.then(
      () => run.forEach((r) => r.resolve()),
      (err: unknown) => run.forEach((r) => r.reject(err)),
    );
  }
}
