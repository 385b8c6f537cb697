/**
 * What a device is asked to do: the provider-side form of an operation, with
 * consumer flags already translated (implied destinations turned into explicit
 * sources, dropped sources removed) and offsets applied, so every block is a
 * view of exactly `len` bytes. Drivers see only this type, never TxFlags.
 */
import type { Block, KernelSet, Slot } from '../kernels/types.js';
import { Capability, type CapabilityMask } from './capability.js';

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
  | { readonly kind: 'interrupt' };

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
  }
}

/** Length of the operation in bytes per block (0 for interrupt). */
export function opLength(op: HwOp): number {
  switch (op.kind) {
    case 'memcpy': case 'memset': case 'xor': return op.dest.length;
    case 'xor_val': return op.len;
    case 'pq': case 'pq_val': return (op.p ?? op.q)!.length;
    case 'raid6_2data': case 'raid6_datap': return op.p.length;
    case 'interrupt': return 0;
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
  }
}

/** Every block the operation writes (what a mapping layer must copy back). */
export function opOutputs(op: HwOp): Block[] {
  switch (op.kind) {
    case 'memcpy': case 'memset': case 'xor': return [op.dest];
    case 'pq': return [op.p, op.q].filter((b): b is Block => b !== null);
    case 'raid6_2data': return [op.data[op.faila]!, op.data[op.failb]!];
    case 'raid6_datap': return [op.data[op.faila]!, op.p];
    case 'xor_val': case 'pq_val': case 'interrupt': return [];
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
 * SumCheck result bits (0 for operations that check nothing).
 */
export function runOp(k: KernelSet, op: HwOp): number {
  switch (op.kind) {
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
        const present = op.data.map((d, i) => (d === null ? -1 : i)).filter((i) => i >= 0);
        if (present.length > 0) k.xorSyndrome(op.data, op.p, op.q, present[0], present[present.length - 1]);
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
