/**
 * The worker entry: one thread, one channel. It takes descriptors from its
 * ring in order, runs the kernels on the shared arena, publishes each
 * completion, and parks on the doorbell when there is nothing to do.
 * It shares only protocol.ts with the main side; every ordering rule relied
 * on here is stated there.
 *
 * Loaded from the compiled tree (dist/src/drivers/worker/worker.js) by
 * `new Worker(new URL('./worker.js', import.meta.url))`.
 */
import { readSync, writeSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';
import {
  composeKernels, createWasmKernelSet, runOp, scalarKernels, type Block, type HwOp, type KernelOp, type KernelSet, type Slot,
} from '../../provider.js';
import {
  ERROR_TEXT_BYTES, H_CAPACITY, H_DOORBELL, H_HEAD, H_LAST_COOKIE, H_LOW_WATER, H_MODERATION, H_NOTIFY, H_SLEEPING, H_SPIN_US, H_STATE,
  H_STOP, H_TAIL, H_VERSION, IO_WORDS, NULL_BLOCK, OP_AFTER, Opcode, OPCODE_MASK, PARENT_FAILED_TEXT, S_AFTER, RING_LAYOUT_VERSION, S_ARG0, S_ARG1, S_BLOCKS, S_COOKIE, S_ERROR_TEXT,
  S_LEN, S_NBLOCKS, S_OP, S_RESULT, S_SERVICE_NS, S_STATUS, SlotStatus, slotBase, WorkerState, type WorkerInit,
} from './protocol.js';

/** The main thread's per-operation choice, rebuilt here on the arena (with this worker's scratch). */
function kernelsFor(init: WorkerInit): KernelSet {
  const names = new Set(Object.values(init.kernels));
  // A variant ("wasm-simd/xor128") lives in the release module too.
  const uses = (base: string) => [...names].some((n) => n === base || n.startsWith(`${base}/`));
  const sets: KernelSet[] = [scalarKernels];
  if (uses('wasm-simd')) sets.push(createWasmKernelSet(init.memory, init.scratch, 'release'));
  if (uses('wasm-simd-debug')) sets.push(createWasmKernelSet(init.memory, init.scratch, 'debug'));
  // composeKernels names any implementation this list lacks.
  return composeKernels(init.kernels as Readonly<Record<KernelOp, string>>, sets);
}

/** Views of one slot's blocks, in the protocol's block-list order. */
function blocksOf(ring: Int32Array, base: number, buffer: SharedArrayBuffer): Slot[] {
  const n = ring[base + S_NBLOCKS];
  const len = ring[base + S_LEN];
  const out: Slot[] = new Array<Slot>(n);
  for (let i = 0; i < n; i++) {
    const off = ring[base + S_BLOCKS + i] >>> 0;
    // The constructor range-checks: a bad offset becomes this descriptor's error, not a crash.
    out[i] = off === NULL_BLOCK ? null : new Uint8Array(buffer, off, len);
  }
  return out;
}

function present(b: Slot, what: string): Block {
  if (b === null) throw new Error(`${what} is null`);
  return b;
}

/** Rebuilds the provider-side operation a slot describes. */
function decode(ring: Int32Array, base: number, buffer: SharedArrayBuffer): HwOp {
  const op = ring[base + S_OP] & OPCODE_MASK;
  const b = blocksOf(ring, base, buffer);
  const data = (): Slot[] => b.slice(0, b.length - 2);
  const p = b[b.length - 2];
  const q = b[b.length - 1];
  switch (op) {
    case Opcode.Memcpy:
      return { kind: 'memcpy', dest: present(b[0], 'dest'), src: present(b[1], 'src') };
    case Opcode.Memset:
      return { kind: 'memset', dest: present(b[0], 'dest'), value: ring[base + S_ARG0] };
    case Opcode.Xor:
      return { kind: 'xor', dest: present(b[0], 'dest'), srcs: b.slice(1).map((s) => present(s, 'source')) };
    case Opcode.XorVal:
      return { kind: 'xor_val', srcs: b.map((s) => present(s, 'source')), len: ring[base + S_LEN] };
    case Opcode.Pq:
      return { kind: 'pq', data: data(), p, q, rmw: ring[base + S_ARG0] !== 0 };
    case Opcode.PqVal:
      return { kind: 'pq_val', data: data(), p, q };
    case Opcode.Raid6TwoData:
      return { kind: 'raid6_2data', data: data(), p: present(p, 'P'), q: present(q, 'Q'), faila: ring[base + S_ARG0], failb: ring[base + S_ARG1] };
    case Opcode.Raid6DataP:
      return { kind: 'raid6_datap', data: data(), p: present(p, 'P'), q: present(q, 'Q'), faila: ring[base + S_ARG0] };
    case Opcode.Interrupt:
      return { kind: 'interrupt' };
    default:
      throw new Error(`unknown opcode ${op}`);
  }
}

const encoder = new TextEncoder();

function writeError(ring: Int32Array, base: number, message: string): void {
  const text = new Uint8Array(ring.buffer, ring.byteOffset + (base + S_ERROR_TEXT) * 4, ERROR_TEXT_BYTES);
  const { written } = encoder.encodeInto(message, text);
  ring[base + S_RESULT] = written;
  ring[base + S_STATUS] = SlotStatus.Error;
}

/**
 * Runs an I/O slot's transfers in order, with positional system calls straight on the arena:
 * the bytes never pass through the main thread. A short read is an error, as on the main path.
 */
function runIo(ring: Int32Array, base: number, buffer: SharedArrayBuffer, write: boolean): void {
  const n = ring[base + S_NBLOCKS];
  const len = ring[base + S_LEN];
  for (let i = 0; i < n; i++) {
    const view = new Uint8Array(buffer, ring[base + S_BLOCKS + i] >>> 0, len);
    const w = base + S_BLOCKS + n + i * IO_WORDS;
    const fd = ring[w];
    const position = (ring[w + 1] >>> 0) + ring[w + 2] * 0x1_0000_0000;
    // Named on error (protocol.ts, S_ARG1): which target failed is what the client acts on.
    ring[base + S_ARG1] = i;
    for (let done = 0; done < len; ) {
      const k = write ? writeSync(fd, view, done, len - done, position + done) : readSync(fd, view, done, len - done, position + done);
      if (k === 0) throw new Error(`short ${write ? 'write' : 'read'} at byte ${position + done} of fd ${fd}`);
      done += k;
    }
  }
}

/** Runs the slot's operation; returns its SumCheck result bits. */
function runSlotOp(ring: Int32Array, base: number, kernels: KernelSet, buffer: SharedArrayBuffer): number {
  const op = ring[base + S_OP] & OPCODE_MASK;
  if (op === Opcode.IoRead || op === Opcode.IoWrite) {
    runIo(ring, base, buffer, op === Opcode.IoWrite);
    return 0;
  }
  return runOp(kernels, decode(ring, base, buffer));
}

/** An error's text for the slot: a system error keeps its code in front (protocol.ts, IO_ERROR_CODE). */
function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? `[${code}] ${err.message}` : err.message;
}

/**
 * What this thread ran, per slot index: the counter last run there and whether it completed,
 * so a chained step can ask about its parent (protocol.ts, S_AFTER). A parent is always run
 * before its child, and no later slot at the parent's index runs before the child, so the
 * entry at the parent's index is the parent's own while the child waits.
 */
class RunLog {
  private readonly counter: Int32Array;
  private readonly ok: Uint8Array;
  constructor(private readonly mask: number) {
    this.counter = new Int32Array(mask + 1);
    this.ok = new Uint8Array(mask + 1);
  }
  record(counter: number, ok: boolean): void {
    this.counter[counter & this.mask] = counter;
    this.ok[counter & this.mask] = ok ? 1 : 0;
  }
  completed(counter: number): boolean {
    return this.counter[counter & this.mask] === counter && this.ok[counter & this.mask] === 1;
  }
}

/** Runs the slot at `tail`: status and result are written with plain stores, published by TAIL. */
function runSlot(ring: Int32Array, base: number, kernels: KernelSet, buffer: SharedArrayBuffer, log: RunLog): void {
  if ((ring[base + S_OP] & OP_AFTER) !== 0 && !log.completed(ring[base + S_AFTER])) {
    writeError(ring, base, PARENT_FAILED_TEXT);
    return;
  }
  try {
    const t0 = performance.now();
    const result = runSlotOp(ring, base, kernels, buffer);
    ring[base + S_SERVICE_NS] = Math.min(0x7fffffff, Math.round((performance.now() - t0) * 1e6));
    ring[base + S_RESULT] = result;
    ring[base + S_STATUS] = SlotStatus.Complete;
  } catch (err) {
    writeError(ring, base, errorMessage(err));
  }
}

/** Polls HEAD for up to `spinUs` µs; true when work arrived. Cheaper than a park when work follows soon. */
function spinForWork(ring: Int32Array, tail: number, spinUs: number): boolean {
  if (spinUs <= 0) return false;
  const until = performance.now() + spinUs / 1000;
  for (let i = 0; ; i++) {
    if (Atomics.load(ring, H_HEAD) !== tail || Atomics.load(ring, H_STOP) !== 0) return true;
    if ((i & 63) === 63 && performance.now() >= until) return false;
  }
}

function serve(init: WorkerInit): void {
  const ring = new Int32Array(init.ring);
  if (ring[H_VERSION] !== RING_LAYOUT_VERSION) {
    throw new Error(`${init.name}: ring layout version ${ring[H_VERSION]}, this worker reads ${RING_LAYOUT_VERSION}`);
  }
  const buffer = init.memory.buffer as SharedArrayBuffer;
  const kernels = kernelsFor(init);
  const capacity = ring[H_CAPACITY];
  const log = new RunLog(capacity - 1);
  let tail = Atomics.load(ring, H_TAIL);
  let sinceNotice = 0;
  Atomics.store(ring, H_STATE, WorkerState.Running);
  for (;;) {
    const head = Atomics.load(ring, H_HEAD);
    if (head === tail) {
      if (Atomics.load(ring, H_STOP) !== 0) break;
      if (spinForWork(ring, tail, Atomics.load(ring, H_SPIN_US))) continue;
      // Park. Order matters (protocol.ts, "Doorbell"): flag, snapshot, re-check, wait.
      Atomics.store(ring, H_SLEEPING, 1);
      const seq = Atomics.load(ring, H_DOORBELL);
      if (Atomics.load(ring, H_HEAD) === tail && Atomics.load(ring, H_STOP) === 0) Atomics.wait(ring, H_DOORBELL, seq);
      Atomics.store(ring, H_SLEEPING, 0);
      continue;
    }
    const base = slotBase(tail, capacity);
    runSlot(ring, base, kernels, buffer, log);
    log.record(tail, ring[base + S_STATUS] === SlotStatus.Complete);
    const cookie = ring[base + S_COOKIE];
    tail = (tail + 1) | 0;
    // Publishes this slot's status/result and the kernel's arena writes (protocol.ts, "Completions").
    Atomics.store(ring, H_TAIL, tail);
    Atomics.store(ring, H_LAST_COOKIE, cookie);
    sinceNotice++;
    // Completion moderation: wake the client once per k, when the work left reaches the low-water
    // mark (time to refill before this thread starves), or when nothing more is published.
    const left = (Atomics.load(ring, H_HEAD) - tail) | 0;
    if (sinceNotice >= Atomics.load(ring, H_MODERATION) || left === 0 || left === Atomics.load(ring, H_LOW_WATER)) {
      sinceNotice = 0;
      Atomics.add(ring, H_NOTIFY, 1);
      Atomics.notify(ring, H_NOTIFY);
    }
  }
  Atomics.store(ring, H_STATE, WorkerState.Stopped);
  Atomics.add(ring, H_NOTIFY, 1);
  Atomics.notify(ring, H_NOTIFY);
}

if (!isMainThread) serve(workerData as WorkerInit);
