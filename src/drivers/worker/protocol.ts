/**
 * The one thing the worker channel (main side, channel.ts) and the worker
 * entry (worker.ts) share: the layout of a channel's descriptor ring in a
 * SharedArrayBuffer, the opcodes, the states, and the rules for touching it.
 * Versioned (STYLE 14): the worker refuses a ring of another version.
 *
 * The ring is an Int32Array: a header of HEADER_WORDS words, then `capacity`
 * slots of SLOT_WORDS words. `capacity` is a power of two; counters (head,
 * tail) count slots forever and wrap at 2^32 (`| 0`); a counter's slot is
 * `counter & (capacity - 1)`.
 *
 * Ownership:
 * - slots in [tail, head) belong to the worker: the main thread wrote them
 *   before publishing `head` and does not touch them again until the worker
 *   has published a `tail` past them;
 * - every other slot belongs to the main thread.
 *
 * Memory ordering (the JS memory model: Atomics.* on a SharedArrayBuffer are
 * sequentially consistent and synchronise with each other; plain accesses are
 * ordered by program order up to an atomic):
 * - main: plain writes of a slot (and of the arena bytes it names: copy-in),
 *   then Atomics.store(HEAD). worker: Atomics.load(HEAD), then plain reads.
 *   The store/load pair is what makes the slot and the bytes visible.
 * - worker: kernel writes to the arena, plain writes of the slot's status and
 *   result, then Atomics.store(TAIL). main: Atomics.load(TAIL), then plain
 *   reads of status, result and the arena (copy-out).
 * - Doorbell (no lost wake-up): the worker stores SLEEPING = 1, snapshots
 *   DOORBELL, re-reads HEAD, and only then Atomics.wait(DOORBELL, snapshot).
 *   The main thread stores HEAD, adds to DOORBELL, then loads SLEEPING and
 *   notifies if it is 1. In the single total order of these SC operations
 *   either the worker's re-read of HEAD sees the new head, or the main
 *   thread's load of SLEEPING sees 1 (and its DOORBELL add makes a wait on an
 *   older snapshot return at once).
 * - Completions (no lost wake-up): the worker bumps NOTIFY (Atomics.add) and
 *   notifies after storing TAIL, once per `moderation` completions, when the
 *   published work left falls to the low-water mark, and whenever the ring
 *   drains. The main thread snapshots NOTIFY *before* it
 *   reads TAIL and reaps, then waits (Atomics.waitAsync) on that snapshot, so
 *   a bump between the read and the wait makes the wait return at once.
 */

/** Bump when the layout or a rule below changes. */
export const RING_LAYOUT_VERSION = 5;

// Header words.
/** RING_LAYOUT_VERSION, written first by the main thread. */
export const H_VERSION = 0;
/** Slots in the ring (a power of two). */
export const H_CAPACITY = 1;
/** Published producer counter: slots [tail, head) are the worker's. Main writes, worker reads. */
export const H_HEAD = 2;
/** Consumer counter: slots before it are done (status and result written). Worker writes. */
export const H_TAIL = 3;
/** Doorbell counter: bumped by the main thread when it publishes; the worker parks on it. */
export const H_DOORBELL = 4;
/** 1 while the worker is parked on (or about to park on) DOORBELL. Worker writes. */
export const H_SLEEPING = 5;
/** Completion-notice counter: bumped by the worker when it wakes the client. */
export const H_NOTIFY = 6;
/** Wake the client once per this many completions (and whenever the ring drains). Main writes. */
export const H_MODERATION = 7;
/** How long an idle worker polls HEAD before parking, in microseconds. Main writes. */
export const H_SPIN_US = 8;
/** 1: finish what was published, then exit. Main writes. */
export const H_STOP = 9;
/** A WorkerState. Worker writes. */
export const H_STATE = 10;
/** Cookie of the last descriptor the worker completed (for inspection). Worker writes. */
export const H_LAST_COOKIE = 11;
/**
 * Low-water mark: also wake the client when a completion leaves this many (or fewer, but not
 * zero) descriptors published and not run, so it can refill the ring before the worker starves.
 * 0: only per `moderation` completions and on drain. Main writes.
 */
export const H_LOW_WATER = 12;
export const HEADER_WORDS = 16;

/** Worker states (H_STATE). */
export const WorkerState = {
  Starting: 0,
  Running: 1,
  Stopped: 2,
} as const;

// Slot words, from the slot's first word.
/** An Opcode. */
export const S_OP = 0;
/** The descriptor's cookie (for inspection: completions are in order, so the slot identifies it). */
export const S_COOKIE = 1;
/** Bytes per block. */
export const S_LEN = 2;
/** Entries in the block list. */
export const S_NBLOCKS = 3;
/** Per-op argument: memset value, pq rmw (0/1), faila. */
export const S_ARG0 = 4;
/** Per-op argument: failb. On an I/O error the worker writes the failed transfer's index here. */
export const S_ARG1 = 5;
/** Written by the worker: a SlotStatus. */
export const S_STATUS = 6;
/** Written by the worker: SumCheck bits of a validate op. */
export const S_RESULT = 7;
/** Written by the worker: nanoseconds the kernel ran (capped at 2^31 − 1), so the scheduler's cost model sees engine time, not main-thread latency. */
export const S_SERVICE_NS = 8;
/**
 * With OP_AFTER set in S_OP: the slot counter of an earlier descriptor on this ring that this one
 * depends on (a chained step submitted before its parent completed). The worker runs it only if
 * that descriptor completed; otherwise it fails it with PARENT_FAILED_TEXT, unrun.
 */
export const S_AFTER = 9;
/** Block list: arena byte offsets (read as u32), NULL_BLOCK for a null slot. */
export const S_BLOCKS = 10;
/** Most entries in a block list: 253 data slots + P + Q, or dest + 255 sources. */
export const MAX_BLOCKS = 256;
/** On error, the worker writes the message's UTF-8 bytes here (length in S_RESULT). */
export const S_ERROR_TEXT = S_BLOCKS + MAX_BLOCKS;
export const ERROR_TEXT_BYTES = 128;
export const SLOT_WORDS = S_ERROR_TEXT + ERROR_TEXT_BYTES / 4;

/** The offset that stands for a null (all-zero) data slot. */
export const NULL_BLOCK = 0xffffffff;

/**
 * Opcodes. Block list order per opcode (P and Q may be NULL_BLOCK where the
 * operation allows it):
 *   Memcpy     dest, src
 *   Memset     dest                  (ARG0 = value)
 *   Xor        dest, src…            (no sources: dest = 0)
 *   XorVal     src…
 *   Pq         data…, P, Q           (ARG0 = 1 for read-modify-write)
 *   PqVal      data…, P, Q
 *   Raid6TwoData data…, P, Q         (ARG0 = faila, ARG1 = failb)
 *   Raid6DataP data…, P, Q           (ARG0 = faila)
 *   Interrupt  (none)
 *   IoRead     dest…                 then, from S_BLOCKS + count, IO_WORDS per transfer: fd,
 *   IoWrite    src…                  position low 32 bits, position high bits (≤ 2^53)
 */
export const Opcode = {
  Memcpy: 1,
  Memset: 2,
  Xor: 3,
  XorVal: 4,
  Pq: 5,
  PqVal: 6,
  Raid6TwoData: 7,
  Raid6DataP: 8,
  Interrupt: 9,
  IoRead: 10,
  IoWrite: 11,
} as const;

/** S_OP flag: the descriptor depends on the one S_AFTER names. The opcode is S_OP & OPCODE_MASK. */
export const OP_AFTER = 0x100;
export const OPCODE_MASK = 0xff;
/** The error text of a descriptor not run because the one it depends on failed. */
export const PARENT_FAILED_TEXT = '[ASYNCTX_PARENT_FAILED] not run: the step it depends on failed';

/** Words per I/O transfer after the block list: fd, position low, position high. */
export const IO_WORDS = 3;
/** Most transfers in one I/O descriptor: its blocks and their IO_WORDS fit the block area. */
export const MAX_IO_TRANSFERS = Math.floor(MAX_BLOCKS / (1 + IO_WORDS));
/**
 * On an I/O error the worker's message starts with the system error code in brackets
 * ("[EIO] …"), so the main side can give the error its `code` back.
 */
export const IO_ERROR_CODE = /^\[([A-Z0-9_]+)\] /;

/** S_STATUS values. */
export const SlotStatus = {
  Pending: 0,
  Complete: 1,
  Error: 2,
} as const;

/** Bytes of a ring with `capacity` slots. */
export function ringBytes(capacity: number): number {
  return (HEADER_WORDS + capacity * SLOT_WORDS) * 4;
}

/** First word of slot `counter`'s slot. */
export function slotBase(counter: number, capacity: number): number {
  return HEADER_WORDS + (counter & (capacity - 1)) * SLOT_WORDS;
}

/** What the main thread posts once, when it starts a worker (workerData). */
export interface WorkerInit {
  readonly version: number;
  readonly ring: SharedArrayBuffer;
  /** The arena's shared memory: every block offset is into it. */
  readonly memory: WebAssembly.Memory;
  /** A region of the arena only this worker's kernels scribble on (pointer lists, bounce chunks). */
  readonly scratch: { readonly offset: number; readonly bytes: number };
  /**
   * The main thread's kernel choice, per KernelSet operation (e.g. genSyndrome → "wasm-simd"),
   * so both sides compute with the same implementations.
   */
  readonly kernels: Readonly<Record<string, string>>;
  /** Channel name, for messages. */
  readonly name: string;
}
