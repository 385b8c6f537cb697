// Plain byte kernels: xor of N sources, zero checks, compare, copy, fill.
import { STEP, ptrAt, storeLanes } from './common';

/** The 16-byte and byte tails of an xor from byte i on (every source read before dst is written). */
// @ts-ignore: decorator
@inline function xorTail(dst: usize, ptrs: usize, n: usize, i: usize, len: usize): void {
  for (; i + 16 <= len; i += 16) {
    let a = v128.load(ptrAt(ptrs, 0) + i);
    for (let k: usize = 1; k < n; k++) a = v128.xor(a, v128.load(ptrAt(ptrs, k) + i));
    v128.store(dst + i, a);
  }
  for (; i < len; i++) {
    let b = load<u8>(ptrAt(ptrs, 0) + i);
    for (let k: usize = 1; k < n; k++) b ^= load<u8>(ptrAt(ptrs, k) + i);
    store<u8>(dst + i, b);
  }
}

/**
 * dst = ⊕ of the n ≥ 1 sources listed at `ptrs`, `lanes` (2, 4 or 8)
 * independent 16-byte accumulators per step; with `pairs` (four lanes only)
 * the sources are taken two at a time (s ⊕ t first, then into the accumulator: half the
 * loop overhead, and the chain into each accumulator half as long). dst may
 * be one of the sources: each step reads every source before it writes.
 */
// @ts-ignore: decorator
@inline function xorLanes(dst: usize, ptrs: usize, n: usize, len: usize, lanes: usize, pairs: bool): void {
  const step = lanes * 16;
  const bulk = len - len % step;
  let i: usize = 0;
  for (; i < bulk; i += step) {
    const s0 = ptrAt(ptrs, 0) + i;
    let a0 = v128.load(s0);
    let a1 = v128.load(s0, 16);
    let a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    if (lanes >= 4) {
      a2 = v128.load(s0, 32);
      a3 = v128.load(s0, 48);
    }
    if (lanes == 8) {
      a4 = v128.load(s0, 64);
      a5 = v128.load(s0, 80);
      a6 = v128.load(s0, 96);
      a7 = v128.load(s0, 112);
    }
    let k: usize = 1;
    if (pairs) {
      for (; k + 1 < n; k += 2) {
        const s = ptrAt(ptrs, k) + i;
        const t = ptrAt(ptrs, k + 1) + i;
        a0 = v128.xor(a0, v128.xor(v128.load(s), v128.load(t)));
        a1 = v128.xor(a1, v128.xor(v128.load(s, 16), v128.load(t, 16)));
        a2 = v128.xor(a2, v128.xor(v128.load(s, 32), v128.load(t, 32)));
        a3 = v128.xor(a3, v128.xor(v128.load(s, 48), v128.load(t, 48)));
      }
    }
    for (; k < n; k++) {
      const s = ptrAt(ptrs, k) + i;
      a0 = v128.xor(a0, v128.load(s));
      a1 = v128.xor(a1, v128.load(s, 16));
      if (lanes >= 4) {
        a2 = v128.xor(a2, v128.load(s, 32));
        a3 = v128.xor(a3, v128.load(s, 48));
      }
      if (lanes == 8) {
        a4 = v128.xor(a4, v128.load(s, 64));
        a5 = v128.xor(a5, v128.load(s, 80));
        a6 = v128.xor(a6, v128.load(s, 96));
        a7 = v128.xor(a7, v128.load(s, 112));
      }
    }
    storeLanes(dst + i, a0, a1, a2, a3, lanes == 2 ? 2 : 4);
    if (lanes == 8) storeLanes(dst + i + 64, a4, a5, a6, a7, 4);
  }
  xorTail(dst, ptrs, n, i, len);
}

/** Bytes per chunk of the grouped xor, and sources per pass over a chunk. */
// @ts-ignore: decorator
@inline const XOR_CHUNK: usize = 1024;
// @ts-ignore: decorator
@inline const XOR_GROUP: usize = 4;

/**
 * One 64-byte step of the grouped xor: dst = (acc ? dst : 0) ⊕ sources lo..hi-1
 * at byte i (hi - lo ≤ XOR_GROUP).
 */
// @ts-ignore: decorator
@inline function xorGroupStep(dst: usize, ptrs: usize, lo: usize, hi: usize, i: usize, acc: bool): void {
  const d = dst + i;
  const s0 = ptrAt(ptrs, lo) + i;
  let a0 = v128.load(s0);
  let a1 = v128.load(s0, 16);
  let a2 = v128.load(s0, 32);
  let a3 = v128.load(s0, 48);
  for (let k = lo + 1; k < hi; k++) {
    const s = ptrAt(ptrs, k) + i;
    a0 = v128.xor(a0, v128.load(s));
    a1 = v128.xor(a1, v128.load(s, 16));
    a2 = v128.xor(a2, v128.load(s, 32));
    a3 = v128.xor(a3, v128.load(s, 48));
  }
  if (acc) {
    a0 = v128.xor(a0, v128.load(d));
    a1 = v128.xor(a1, v128.load(d, 16));
    a2 = v128.xor(a2, v128.load(d, 32));
    a3 = v128.xor(a3, v128.load(d, 48));
  }
  storeLanes(d, a0, a1, a2, a3, 4);
}

/**
 * dst = ⊕ of the n ≥ 1 sources, a few sources per pass over 1 KiB chunks
 * (dst, in L1, holds the sum between passes): fewer memory streams at once
 * than reading every source per step. When dst is one of the sources past the
 * first pass, the first pass would overwrite it before it is read: then the
 * plain loop runs.
 */
// @ts-ignore: decorator
@inline function xorGrouped(dst: usize, ptrs: usize, n: usize, len: usize): void {
  for (let k: usize = XOR_GROUP; k < n; k++) {
    if (ptrAt(ptrs, k) == dst) {
      xorLanes(dst, ptrs, n, len, 4, false);
      return;
    }
  }
  const bulk = len & ~(STEP - 1);
  for (let c: usize = 0; c < bulk; c += XOR_CHUNK) {
    const end = min(c + XOR_CHUNK, bulk);
    for (let lo: usize = 0; lo < n; lo += XOR_GROUP) {
      const hi = min(lo + XOR_GROUP, n);
      if (lo == 0) for (let i = c; i < end; i += STEP) xorGroupStep(dst, ptrs, lo, hi, i, false);
      else for (let i = c; i < end; i += STEP) xorGroupStep(dst, ptrs, lo, hi, i, true);
    }
  }
  xorTail(dst, ptrs, n, bulk, len);
}

/**
 * dst = ⊕ of the n ≥ 1 sources listed at `ptrs`. dst may be one of the
 * sources. xor is four 16-byte lanes per step; the others are variants the
 * start-up selection may choose instead (src/kernels/wasm_variants.ts):
 * two lanes, eight lanes, sources in pairs, and a few sources per pass.
 */
export function xor(dst: usize, ptrs: usize, n: usize, len: usize): void {
  xorLanes(dst, ptrs, n, len, 4, false);
}

export function xor_l2(dst: usize, ptrs: usize, n: usize, len: usize): void {
  xorLanes(dst, ptrs, n, len, 2, false);
}

export function xor_l8(dst: usize, ptrs: usize, n: usize, len: usize): void {
  xorLanes(dst, ptrs, n, len, 8, false);
}

export function xor_pairs(dst: usize, ptrs: usize, n: usize, len: usize): void {
  xorLanes(dst, ptrs, n, len, 4, true);
}

export function xor_grouped(dst: usize, ptrs: usize, n: usize, len: usize): void {
  xorGrouped(dst, ptrs, n, len);
}

/** 1 when ⊕ of the n ≥ 1 sources at `ptrs` is all zeros, else 0. Writes nothing. */
export function xor_zero(ptrs: usize, n: usize, len: usize): i32 {
  const bulk = len & ~(STEP - 1);
  let i: usize = 0;
  for (; i < bulk; i += STEP) {
    const s0 = ptrAt(ptrs, 0) + i;
    let a0 = v128.load(s0);
    let a1 = v128.load(s0, 16);
    let a2 = v128.load(s0, 32);
    let a3 = v128.load(s0, 48);
    for (let k: usize = 1; k < n; k++) {
      const s = ptrAt(ptrs, k) + i;
      a0 = v128.xor(a0, v128.load(s));
      a1 = v128.xor(a1, v128.load(s, 16));
      a2 = v128.xor(a2, v128.load(s, 32));
      a3 = v128.xor(a3, v128.load(s, 48));
    }
    if (v128.any_true(v128.or(v128.or(a0, a1), v128.or(a2, a3)))) return 0;
  }
  for (; i < len; i++) {
    let b = load<u8>(ptrAt(ptrs, 0) + i);
    for (let k: usize = 1; k < n; k++) b ^= load<u8>(ptrAt(ptrs, k) + i);
    if (b != 0) return 0;
  }
  return 1;
}

/** 1 when the len bytes at `src` are all zero, else 0. */
export function is_zero(src: usize, len: usize): i32 {
  const bulk = len & ~(STEP - 1);
  let i: usize = 0;
  for (; i < bulk; i += STEP) {
    const s = src + i;
    const o = v128.or(v128.or(v128.load(s), v128.load(s, 16)), v128.or(v128.load(s, 32), v128.load(s, 48)));
    if (v128.any_true(o)) return 0;
  }
  for (; i < len; i++) if (load<u8>(src + i) != 0) return 0;
  return 1;
}

/** 1 when the len bytes at `a` and `b` are equal, else 0. */
export function equal(a: usize, b: usize, len: usize): i32 {
  const bulk = len & ~(STEP - 1);
  let i: usize = 0;
  for (; i < bulk; i += STEP) {
    const x = a + i;
    const y = b + i;
    const d = v128.or(
      v128.or(v128.xor(v128.load(x), v128.load(y)), v128.xor(v128.load(x, 16), v128.load(y, 16))),
      v128.or(v128.xor(v128.load(x, 32), v128.load(y, 32)), v128.xor(v128.load(x, 48), v128.load(y, 48))),
    );
    if (v128.any_true(d)) return 0;
  }
  for (; i < len; i++) if (load<u8>(a + i) != load<u8>(b + i)) return 0;
  return 1;
}

/** dst = src (no overlap): the engine's own memmove. */
export function memcpy(dst: usize, src: usize, len: usize): void {
  memory.copy(dst, src, len);
}

/** Every byte of dst = value. */
export function memset(dst: usize, value: u32, len: usize): void {
  memory.fill(dst, <u8>value, len);
}
