/**
 * What a device is asked to do: the provider-side form of an operation, with
 * consumer flags already translated (implied destinations turned into explicit
 * sources, dropped sources removed) and offsets applied, so every block is a
 * view of exactly `len` bytes. Drivers see only this type, never TxFlags.
 */
import type { Block, KernelSet, Slot } from '../kernels/types.js';
import { Capability, type CapabilityMask } from './capability.js';

/**
 * Where an I/O transfer reads or writes: a member file, block device or any
 * store addressed by byte position (the role of a dmaengine slave device).
 * An engine in another thread reaches it through `fd`; the main-thread path
 * through `read` and `write`.
 */
export interface IoTarget {
  /** For messages ("disk2.img"). */
  readonly name: string;
  /**
   * An OS file descriptor any thread of this process may use for positional
   * reads and writes, or null when only `read`/`write` reach the target (an
   * in-memory member, an NBD export). It must stay open until every
   * descriptor naming it is final: a closed and reused number would be
   * another file.
   */
  readonly fd: number | null;
  /** Reads `dest.length` bytes at `position` (a read past the end is an error); `done` once, asynchronously. */
  read(dest: Uint8Array, position: number, done: (error: Error | null) => void): void;
  /** Writes all of `src` at `position`; `done` once the target accepted it (not: made it durable). */
  write(src: Uint8Array, position: number, done: (error: Error | null) => void): void;
}

/** Whether `v` has an IoTarget's shape (what the consumer API checks before anything runs). */
export function isIoTarget(v: unknown): v is IoTarget {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Partial<IoTarget>;
  const fdOk = t.fd === null || (typeof t.fd === 'number' && Number.isInteger(t.fd) && t.fd >= 0);
  return typeof t.name === 'string' && fdOk && typeof t.read === 'function' && typeof t.write === 'function';
}

/**
 * One I/O descriptor's transfers: block i moves from (io_read) or to
 * (io_write) targets[i] at positions[i]. Every block has the descriptor's length,
 * as every block of every other operation does.
 */
export interface IoTransfers {
  readonly blocks: readonly Block[];
  readonly targets: readonly IoTarget[];
  readonly positions: readonly number[];
}

export type HwOp =
  | { readonly kind: 'memcpy'; readonly dest: Block; readonly src: Block }
  | { readonly kind: 'memset'; readonly dest: Block; readonly value: number }
  /** dest = ⊕ srcs (dest may be one of srcs); no sources means dest = 0. */
  | { readonly kind: 'xor'; readonly dest: Block; readonly srcs: readonly Block[] }
  /** result = SumCheck.PResult unless ⊕ srcs is zero. */
  | { readonly kind: 'xor_val'; readonly srcs: readonly Block[]; readonly len: number }
  /** Generate (or with rmw, accumulate into) P and Q over the data slots. */
  | { readonly kind: 'pq'; readonly data: readonly Slot[]; readonly p: Block | null; readonly q: Block | null; readonly rmw: boolean }
  | { readonly kind: 'pq_val'; readonly data: readonly Slot[]; readonly p: Block | null; readonly q: Block | null }
  | { readonly kind: 'raid6_2data'; readonly data: readonly Slot[]; readonly p: Block; readonly q: Block; readonly faila: number; readonly failb: number }
  | { readonly kind: 'raid6_datap'; readonly data: readonly Slot[]; readonly p: Block; readonly q: Block; readonly faila: number }
  | { readonly kind: 'interrupt' }
  /** Target → memory: blocks[i] = targets[i][positions[i] …). */
  | ({ readonly kind: 'io_read' } & IoTransfers)
  /** Memory → target. */
  | ({ readonly kind: 'io_write' } & IoTransfers);

export type HwOpKind = HwOp['kind'];

/** The capability a device needs to run `kind` (recovery is built on the pq engine, as in Linux). */
export function capabilityFor(kind: HwOpKind): CapabilityMask {
  switch (kind) {
    case 'memcpy': return Capability.Memcpy;
    case 'memset': return Capability.Memset;
    case 'xor': return Capability.Xor;
    case 'xor_val': return Capability.XorVal;
    case 'pq': case 'raid6_2data': case 'raid6_datap': return Capability.Pq;
    case 'pq_val': return Capability.PqVal;
    case 'interrupt': return Capability.Interrupt;
    case 'io_read': case 'io_write': return Capability.Io;
  }
}

/** Whether `op` moves bytes between memory and a target (it can never run synchronously). */
export function isIoOp(op: HwOp): op is Extract<HwOp, { kind: 'io_read' | 'io_write' }> {
  return op.kind === 'io_read' || op.kind === 'io_write';
}

/** Length of the operation in bytes per block (0 for interrupt). */
export function opLength(op: HwOp): number {
  switch (op.kind) {
    case 'memcpy': case 'memset': case 'xor': return op.dest.length;
    case 'xor_val': return op.len;
    case 'pq': case 'pq_val': return (op.p ?? op.q)!.length;
    case 'raid6_2data': case 'raid6_datap': return op.p.length;
    case 'interrupt': return 0;
    case 'io_read': case 'io_write': return op.blocks[0]!.length;
  }
}

/** Source bytes the operation reads: the figure throughput is quoted in. */
export function opSourceBytes(op: HwOp): number {
  const len = opLength(op);
  switch (op.kind) {
    case 'memcpy': case 'memset': return len;
    case 'xor': case 'xor_val': return len * Math.max(op.srcs.length, 1);
    case 'pq': case 'pq_val': case 'raid6_2data': case 'raid6_datap': return len * op.data.length;
    case 'interrupt': return 0;
    case 'io_read': case 'io_write': return len * op.blocks.length;
  }
}

/** Every block the operation writes (what a mapping layer must copy back). */
export function opOutputs(op: HwOp): Block[] {
  switch (op.kind) {
    case 'memcpy': case 'memset': case 'xor': return [op.dest];
    case 'pq': return [op.p, op.q].filter((b): b is Block => b !== null);
    case 'raid6_2data': return [op.data[op.faila]!, op.data[op.failb]!];
    case 'raid6_datap': return [op.data[op.faila]!, op.p];
    case 'io_read': return [...op.blocks];
    case 'xor_val': case 'pq_val': case 'interrupt': case 'io_write': return [];
  }
}

/** Whether `a` shares a byte with any of `others` (same memory, intersecting ranges). */
export function overlapsAny(a: Block, others: readonly Block[]): boolean {
  for (const b of others) {
    if (a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length) return true;
  }
  return false;
}

/**
 * Runs an operation with a kernel set, on the calling thread. Returns the
 * SumCheck result bits (0 for operations that check nothing). I/O is not a
 * kernel's work: engines that move bytes to targets run it themselves.
 */
export function runOp(k: KernelSet, op: HwOp): number {
  switch (op.kind) {
    case 'io_read':
    case 'io_write':
      throw new TypeError(`runOp: ${op.kind} is I/O, not a kernel operation`);
    case 'memcpy':
      k.memcpy(op.dest, op.src);
      return 0;
    case 'memset':
      k.memset(op.dest, op.value);
      return 0;
    case 'xor':
      if (op.srcs.length === 0) k.memset(op.dest, 0);
      else k.xor(op.dest, op.srcs);
      return 0;
    case 'xor_val':
      return op.srcs.length === 0 || k.xorIsZero(op.srcs) ? 0 : 1;
    case 'pq':
      if (op.rmw) {
        // The span of present slots (null slots inside it are zero blocks to the kernel).
        let first = -1;
        let last = -1;
        for (let i = 0; i < op.data.length; i++) {
          if (op.data[i] === null) continue;
          if (first < 0) first = i;
          last = i;
        }
        if (first >= 0) k.xorSyndrome(op.data, op.p, op.q, first, last);
      } else {
        k.genSyndrome(op.data, op.p, op.q);
      }
      return 0;
    case 'pq_val':
      return k.pqCheck(op.data, op.p, op.q);
    case 'raid6_2data':
      k.recov2Data(op.data, op.p, op.q, op.faila, op.failb);
      return 0;
    case 'raid6_datap':
      k.recovDataP(op.data, op.p, op.q, op.faila);
      return 0;
    case 'interrupt':
      return 0;
  }
}
