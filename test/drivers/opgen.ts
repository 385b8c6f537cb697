/**
 * Random operations as plain data, applied to any client (or the module's
 * synchronous functions) over a pool of buffers, so one run on engines can be
 * compared byte for byte with the same run on the synchronous path.
 */
import { TxFlags, type AsyncTxOps, type SubmitCtl, type Tx } from '../../src/index.js';

/** Index into the pool; null = a null source or slot. */
type Ref = number | null;

export type Spec =
  | { kind: 'memcpy'; dest: number; src: number; destOff: number; srcOff: number; len: number }
  | { kind: 'memset'; dest: number; value: number; off: number; len: number }
  | { kind: 'xor' | 'xorVal'; dest: number; srcs: Ref[]; offs: number[]; len: number; flags: number }
  | { kind: 'pq'; blocks: Ref[]; offs: number[]; len: number; flags: number }
  | { kind: 'pqVal'; blocks: Ref[]; offs: number[]; len: number }
  | { kind: 'recov2'; blocks: Ref[]; a: number; b: number; offs: number[]; len: number }
  | { kind: 'recovP'; blocks: Ref[]; a: number; offs: number[]; len: number };

/** A small deterministic generator (xorshift32), seeded by fast-check. */
export class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = (seed >>> 0) || 0x9e3779b9;
  }
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
  /** `n` distinct pool indices from 0..size-1. */
  distinct(n: number, size: number): number[] {
    const all = Array.from({ length: size }, (_, i) => i);
    for (let i = size - 1; i > 0; i--) {
      const j = this.int(0, i);
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, n);
  }
}

export const KINDS: readonly Spec['kind'][] = ['memcpy', 'memset', 'xor', 'xorVal', 'pq', 'pqVal', 'recov2', 'recovP'];

/**
 * A valid random operation over a pool of `size` buffers of at least
 * maxOff + maxLen bytes each. Blocks of one operation are distinct buffers,
 * except an XorDropDst's srcs[0], which is dest itself. `aligned`: every
 * block is bytes 0..maxLen of its buffer, as md's stripe pages are (so steps
 * of a chain name the very same views).
 */
export function randomSpec(
  r: Rng, size: number, maxLen: number, maxOff: number, kind = KINDS[r.int(0, KINDS.length - 1)], aligned = false,
): Spec {
  const len = aligned ? maxLen : r.int(1, maxLen);
  const off = (): number => (aligned ? 0 : r.int(0, maxOff));
  switch (kind) {
    case 'memcpy': {
      const [dest, src] = r.distinct(2, size);
      return { kind, dest, src, destOff: off(), srcOff: off(), len };
    }
    case 'memset':
      return { kind, dest: r.int(0, size - 1), value: r.int(0, 255), off: off(), len };
    case 'xor':
    case 'xorVal': {
      const n = r.int(2, Math.min(size - 1, 12));
      const [dest, ...srcs] = r.distinct(n + 1, size);
      const refs: Ref[] = srcs.map((s) => (r.chance(0.1) ? null : s));
      const offs = [off(), ...srcs.map(off)];
      let flags = kind === 'xor' && r.chance(0.5) ? TxFlags.XorZeroDst : 0;
      if (r.chance(0.3)) {
        // srcs[0] is dest: the very same bytes.
        flags |= TxFlags.XorDropDst;
        refs[0] = dest;
        offs[1] = offs[0];
      }
      return { kind, dest, srcs: refs, offs, len, flags };
    }
    case 'pq':
    case 'pqVal':
    case 'recov2':
    case 'recovP': {
      const data = r.int(2, Math.min(size - 2, 20));
      const blocks: Ref[] = r.distinct(data + 2, size);
      const offs = blocks.map(off);
      const nullable = (i: number, keep: number[]): void => {
        if (!keep.includes(i) && r.chance(0.15)) blocks[i] = null;
      };
      if (kind === 'pq' || kind === 'pqVal') {
        for (let i = 0; i < data; i++) nullable(i, []);
        if (r.chance(0.2)) blocks[data + r.int(0, 1)] = null;
        if (kind === 'pqVal') return { kind, blocks, offs, len };
        return { kind, blocks, offs, len, flags: r.chance(0.4) ? TxFlags.PqXorDst : 0 };
      }
      const [a, b] = r.distinct(2, data);
      for (let i = 0; i < data; i++) nullable(i, [a, b]);
      return kind === 'recov2' ? { kind, blocks, a, b, offs, len } : { kind, blocks, a, offs, len };
    }
  }
}

/** Submits `s` on `ops` over `pool`. */
export function apply(ops: AsyncTxOps, pool: readonly Uint8Array[], s: Spec, submit?: SubmitCtl): Tx {
  const b = (ref: Ref): Uint8Array | null => (ref === null ? null : pool[ref]);
  switch (s.kind) {
    case 'memcpy':
      return ops.asyncMemcpy(pool[s.dest], pool[s.src], s.destOff, s.srcOff, s.len, submit);
    case 'memset':
      return ops.asyncMemset(pool[s.dest], s.value, s.off, s.len, submit);
    case 'xor':
      return ops.asyncXor(pool[s.dest], s.srcs.map(b), s.offs, s.len, { ...submit, flags: (submit?.flags ?? 0) | s.flags });
    case 'xorVal':
      return ops.asyncXorVal(pool[s.dest], s.srcs.map(b), s.offs, s.len, { ...submit, flags: (submit?.flags ?? 0) | s.flags });
    case 'pq':
      return ops.asyncGenSyndrome(s.blocks.map(b), s.offs, s.len, { ...submit, flags: (submit?.flags ?? 0) | s.flags });
    case 'pqVal':
      return ops.asyncSyndromeVal(s.blocks.map(b), s.offs, s.len, submit);
    case 'recov2':
      return ops.asyncRaid6TwoDataRecov(s.blocks.map(b), s.a, s.b, s.offs, s.len, submit);
    case 'recovP':
      return ops.asyncRaid6DatapRecov(s.blocks.map(b), s.a, s.offs, s.len, submit);
  }
}

/** `size` buffers of `bytes` random bytes; those with `inArena(i)` from `alloc` (arena blocks). */
export function makePool(r: Rng, size: number, bytes: number, inArena: (i: number) => boolean, alloc: (len: number) => Uint8Array): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => {
    const buf = inArena(i) ? alloc(bytes) : new Uint8Array(bytes);
    for (let j = 0; j < bytes; j++) buf[j] = r.next() & 0xff;
    return buf;
  });
}

/** Plain copies of a pool (the synchronous run's inputs). */
export function clonePool(pool: readonly Uint8Array[]): Uint8Array[] {
  return pool.map((b) => Uint8Array.from(b));
}
