/**
 * Member I/O of a running array through per-member merging queues, and what md does around
 * it with each member's bad-block list (raid5.c raid5_end_read_request, raid5_end_write_request,
 * handle_stripe's R5_MadeGood / R5_WriteError):
 * - a write that succeeds clears the range from the list (the next superblock update writes it);
 * - a write that fails records the range instead of failing the member; the array's write
 *   completes only after the log holding it is written (md holds the bio until then); a member
 *   whose log cannot hold it (none, or full) is failed;
 * - a read that fails is retried alone (R5_ReadNoMerge); failing again, it records the range too
 *   (standing in for md's per-stripe R5_ReadError): the stripe plans again and rebuilds it from
 *   parity, and the array then rewrites it and reads it back (read_errors.ts). A member with more read errors in a row than the stripe
 *   cache has heads (md's max_nr_stripes) is failed, as is one whose log cannot record them.
 * Nothing listed bad is read: the planners keep such ranges off the member (md's is_badblock).
 */
import type { IoTarget } from '../async_tx/index.js';
import { MemberIOError } from './errors.js';
import type { Member } from './member.js';
import { MemberQueue, type MemberQueueStats } from './member_queue.js';
import { badBlocksOf, type MemberDevice, type MemberTable } from './member_table.js';
import { memberTarget } from './member_target.js';
import type { Range } from './stripe.js';
import { SECTOR } from './superblock.js';

/** A range that failed a read, to be rewritten from parity: absolute member sectors. */
export interface ReadError {
  readonly dev: MemberDevice;
  readonly sector: number;
  readonly sectors: number;
}

/** Shared by every member without bad blocks: the stripe path asks per head, and this is the common answer. */
const NO_RANGES: Range[] = [];

export interface MemberIoOptions {
  readonly mergeBytes?: number | undefined;
  /** Read errors in a row after which a member is failed (md: max_nr_stripes). */
  readonly maxReadErrors: number;
  /** md_error: marks slot `d` faulty. */
  readonly fail: (d: number, reason: MemberIOError) => void;
}

export class MemberIo {
  private readonly queues = new Map<Member, MemberQueue>();
  private readonly readErrorRuns = new Map<MemberDevice, number>();
  /** Read errors recorded and not yet rewritten. */
  readonly readErrors: ReadError[] = [];

  constructor(
    private readonly table: MemberTable,
    private readonly opts: MemberIoOptions,
  ) {}

  /** The live device in slot `d`, or null while it is missing or faulty. */
  private live(d: number): MemberDevice | null {
    const slot = this.table.slots[d]!;
    return slot.device && slot.state !== 'faulty' && slot.state !== 'missing' ? slot.device : null;
  }

  private queue(dev: MemberDevice): MemberQueue {
    let q = this.queues.get(dev.member);
    if (!q) {
      q = new MemberQueue(dev.member, { maxBytes: this.opts.mergeBytes });
      this.queues.set(dev.member, q);
    }
    return q;
  }

  /**
   * Member I/O at `pos` bytes past slot `d`'s data offset; a `durable` write resolves once it is durable.
   * @throws MemberIOError when the member is not available, fails (it is faulty now, or the
   * range is recorded bad: either way the stripe plans again), or lists the range bad.
   */
  async io(d: number, write: boolean, buf: Uint8Array, pos: number, durable = false): Promise<void> {
    const dev = this.live(d);
    if (!dev) throw new MemberIOError(`member ${d} is not available`, d);
    const first = dev.sb.dataOffset + Math.floor(pos / SECTOR);
    const end = dev.sb.dataOffset + Math.ceil((pos + buf.length) / SECTOR);
    const bad = badBlocksOf(dev);
    if (!write && bad.has(first, end - first)) throw new MemberIOError(`member ${d} (${dev.member.name}) lists sectors ${first}..${end - 1} bad`, d);
    try {
      const at = dev.sb.dataOffset * SECTOR + pos;
      // A failed read is retried alone, unmerged (md's R5_ReadNoMerge), so that only its own range is recorded.
      if (!write) await this.queue(dev).submit(false, buf, at).catch(() => dev.member.read(buf, at));
      // A durable write (REQ_FUA) resolves once it is on stable storage.
      else if (!durable) await this.queue(dev).submit(true, buf, at);
      else if (dev.member.writeFua) await dev.member.writeFua(buf, at);
      else await this.queue(dev).submit(true, buf, at).then(() => dev.member.sync());
    } catch (err) {
      const e = new MemberIOError(`${write ? 'write' : 'read'} error on member ${d} (${dev.member.name}): ${(err as Error).message}`, d, { cause: err });
      if (!this.record(dev, write, first, end - first)) this.opts.fail(d, e);
      else if (write) return; // recorded: parity covers the range, and reads keep off it
      throw e;
    }
    if (write) bad.clear(dev.sb.dataOffset + Math.ceil(pos / SECTOR), Math.floor(buf.length / SECTOR));
    else this.readErrorRuns.delete(dev);
  }

  /** md's rdev_set_badblocks after a failed transfer; false when md would fail the member instead. */
  private record(dev: MemberDevice, write: boolean, sector: number, sectors: number): boolean {
    if (!write) {
      const run = (this.readErrorRuns.get(dev) ?? 0) + 1;
      this.readErrorRuns.set(dev, run);
      if (run > this.opts.maxReadErrors) return false;
    }
    if (!badBlocksOf(dev).add(sector, sectors)) return false;
    if (!write) this.readErrors.push({ dev, sector, sectors });
    return true;
  }

  /** Byte ranges of slot `d`'s bytes [pos, pos+len) that its list holds, relative to `pos`. */
  badRanges(d: number, pos: number, len: number): Range[] {
    const dev = this.table.slots[d]!.device;
    if (!dev || !dev.badBlocks || dev.badBlocks.count === 0) return NO_RANGES;
    const base = dev.sb.dataOffset * SECTOR + pos;
    const first = Math.floor(base / SECTOR);
    return dev.badBlocks
      .within(first, Math.ceil((base + len) / SECTOR) - first)
      .map((b) => ({ lo: Math.max(0, b.sector * SECTOR - base), hi: Math.min(len, (b.sector + b.length) * SECTOR - base) }))
      .filter((r) => r.lo < r.hi);
  }

  /** Records slot `d`'s bytes [pos, pos+len) bad (recovery could not rebuild them). */
  recordBad(d: number, pos: number, len: number): boolean {
    const dev = this.table.slots[d]!.device;
    if (!dev) return false;
    const first = dev.sb.dataOffset + Math.floor(pos / SECTOR);
    return badBlocksOf(dev).add(first, dev.sb.dataOffset + Math.ceil((pos + len) / SECTOR) - first);
  }

  /** Reads absolute member sectors straight from the device's queue, past the lists (the check after a rewrite). */
  readBack(dev: MemberDevice, sector: number, sectors: number): Promise<void> {
    return this.queue(dev).submit(false, new Uint8Array(sectors * SECTOR), sector * SECTOR);
  }

  /** Whether a live device holds additions its log does not (md's unacknowledged bad blocks). */
  unacked(): boolean {
    return this.table.slots.some((s, d) => this.live(d) !== null && s.device!.badBlocks?.unacked === true);
  }

  /** Slot `d` as an I/O target for chained transfers, with its data offset in bytes; null while it is not available. */
  target(d: number): { target: IoTarget; base: number } | null {
    const dev = this.live(d);
    return dev ? { target: memberTarget(dev.member), base: dev.sb.dataOffset * SECTOR } : null;
  }

  /** Member requests submitted by stripes, and issued after merging, since assembly (all members). */
  stats(): MemberQueueStats {
    const out: MemberQueueStats = { requests: 0, issued: 0, bytes: 0 };
    for (const q of this.queues.values()) {
      out.requests += q.stats.requests;
      out.issued += q.stats.issued;
      out.bytes += q.stats.bytes;
    }
    return out;
  }
}
