/**
 * Main side of one descriptor ring (protocol.ts): the slot counters, writing
 * a slot, publishing (the doorbell), and reading what the worker completed.
 * It knows slots and counters only; descriptors, mapping and completion
 * semantics are the channel's.
 */
import type { Encoded } from './encode.js';
import {
  ERROR_TEXT_BYTES, H_CAPACITY, H_DOORBELL, H_HEAD, H_LOW_WATER, H_MODERATION, H_NOTIFY, H_SLEEPING, H_SPIN_US, H_STOP, H_TAIL, H_VERSION,
  NULL_BLOCK, RING_LAYOUT_VERSION, ringBytes, S_ARG0, S_ARG1, S_BLOCKS, S_COOKIE, S_ERROR_TEXT, S_LEN, S_NBLOCKS, S_OP, S_RESULT, S_SERVICE_NS,
  S_STATUS, slotBase, SlotStatus, Opcode, OP_AFTER, S_AFTER,
} from './protocol.js';

export class MainRing {
  readonly sab: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly decoder = new TextDecoder();
  /** Slot counters: written ≥ published ≥ reaped, all modulo 2^32 (protocol.ts). */
  written = 0;
  published = 0;
  reaped = 0;

  constructor(
    readonly capacity: number,
    moderation: number,
    lowWater: number,
    spinUs: number,
  ) {
    this.sab = new SharedArrayBuffer(ringBytes(capacity));
    this.i32 = new Int32Array(this.sab);
    this.bytes = new Uint8Array(this.sab);
    // Plain writes: the worker reads them after receiving the buffer by postMessage, which orders them.
    this.i32[H_VERSION] = RING_LAYOUT_VERSION;
    this.i32[H_CAPACITY] = capacity;
    this.i32[H_MODERATION] = moderation;
    this.i32[H_LOW_WATER] = lowWater;
    this.i32[H_SPIN_US] = spinUs;
  }

  /** Index of counter `n`'s slot. */
  index(n: number): number {
    return n & (this.capacity - 1);
  }

  /** Whether a slot is free (the worker is done with it and its completion was read). */
  hasRoom(): boolean {
    return ((this.written - this.reaped) | 0) < this.capacity;
  }

  /** Written slots not yet published. */
  get unpublished(): number {
    return (this.written - this.published) | 0;
  }

  /**
   * Writes the next slot (main-owned until published).
   * @param offsets arena offsets per block (negative: null), or null to use the blocks' own byteOffsets
   * @param after the slot counter of the descriptor this one depends on (protocol.ts, S_AFTER), or null
   * @returns the slot counter written
   */
  write(enc: Encoded, cookie: number, offsets: readonly number[] | null, after: number | null = null): number {
    const r = this.i32;
    const counter = this.written;
    const base = slotBase(counter, this.capacity);
    r[base + S_OP] = after === null ? enc.opcode : enc.opcode | OP_AFTER;
    r[base + S_AFTER] = after ?? 0;
    r[base + S_COOKIE] = cookie;
    r[base + S_LEN] = enc.len;
    r[base + S_NBLOCKS] = enc.count;
    r[base + S_ARG0] = enc.arg0;
    r[base + S_ARG1] = enc.arg1;
    r[base + S_STATUS] = SlotStatus.Pending;
    r[base + S_RESULT] = 0;
    r[base + S_SERVICE_NS] = 0;
    if (offsets === null) {
      for (let i = 0; i < enc.count; i++) r[base + S_BLOCKS + i] = enc.block(i)?.byteOffset ?? NULL_BLOCK;
    } else {
      for (let i = 0; i < offsets.length; i++) r[base + S_BLOCKS + i] = offsets[i] < 0 ? NULL_BLOCK : offsets[i];
    }
    if (enc.opcode === Opcode.IoRead || enc.opcode === Opcode.IoWrite) {
      const words = enc.ioWords();
      for (let i = 0; i < words.length; i++) r[base + S_BLOCKS + enc.count + i] = words[i]!;
    }
    this.written = (counter + 1) | 0;
    return counter;
  }

  /** Takes back the last written, unpublished slot. */
  unwrite(): void {
    this.written = (this.written - 1) | 0;
  }

  /** The completion-notice counter, to snapshot before publishing or reaping (protocol.ts, "Completions"). */
  noticeSeq(): number {
    return Atomics.load(this.i32, H_NOTIFY);
  }

  /** Waits (without blocking) for NOTIFY to move past `seq`. */
  waitNotice(seq: number): ReturnType<Atomics['waitAsync']> {
    return Atomics.waitAsync(this.i32, H_NOTIFY, seq);
  }

  /**
   * The doorbell: hands every written slot to the worker.
   * @returns whether the worker was parked and had to be woken
   */
  publish(): boolean {
    // Publishes the slots and the arena bytes copied in before them (protocol.ts, first rule).
    Atomics.store(this.i32, H_HEAD, this.written);
    this.published = this.written;
    Atomics.add(this.i32, H_DOORBELL, 1);
    // Only a parked worker needs the (costlier) notify (protocol.ts, "Doorbell").
    if (Atomics.load(this.i32, H_SLEEPING) === 0) return false;
    Atomics.notify(this.i32, H_DOORBELL, 1);
    return true;
  }

  /** How far the worker has completed; slots before it may be read (protocol.ts, "Completions"). */
  tail(): number {
    return Atomics.load(this.i32, H_TAIL);
  }

  /** Whether slot counter `n` completed without error (read only below tail()). */
  ok(n: number): boolean {
    return this.i32[slotBase(n, this.capacity) + S_STATUS] === SlotStatus.Complete;
  }

  /** The SumCheck result of completed slot counter `n`. */
  result(n: number): number {
    return this.i32[slotBase(n, this.capacity) + S_RESULT];
  }

  /** The failed transfer's index of failed I/O slot counter `n` (protocol.ts, S_ARG1). */
  failedTransfer(n: number): number {
    return this.i32[slotBase(n, this.capacity) + S_ARG1];
  }

  /** Nanoseconds the kernel of completed slot counter `n` ran. */
  serviceNs(n: number): number {
    return this.i32[slotBase(n, this.capacity) + S_SERVICE_NS];
  }

  /** The worker's message for failed slot counter `n`. */
  errorText(n: number): string {
    const base = slotBase(n, this.capacity);
    const at = (base + S_ERROR_TEXT) * 4;
    return this.decoder.decode(this.bytes.slice(at, at + Math.min(ERROR_TEXT_BYTES, this.i32[base + S_RESULT])));
  }

  /** Asks the worker to exit once it has done what was published, waking it if parked. */
  stop(): void {
    Atomics.store(this.i32, H_STOP, 1);
    Atomics.add(this.i32, H_DOORBELL, 1);
    Atomics.notify(this.i32, H_DOORBELL);
  }
}
