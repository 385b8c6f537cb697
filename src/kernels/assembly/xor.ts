// Plain byte kernels: xor of N sources, zero checks, compare, copy, fill.
import { STEP, ptrAt } from './common';

/**
 * dst = ⊕ of the n ≥ 1 sources listed at `ptrs`. dst may be one of the
 * sources: each 64-byte step reads every source before it writes.
 */
export function xor(dst: usize, ptrs: usize, n: usize, len: usize): void {
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
    const d = dst + i;
    v128.store(d, a0);
    v128.store(d, a1, 16);
    v128.store(d, a2, 32);
    v128.store(d, a3, 48);
  }
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
