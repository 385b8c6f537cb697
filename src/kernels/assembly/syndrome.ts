// RAID-6 P+Q by Anvin's method: Q = Q·{02} ⊕ D from the highest slot down,
// so each step costs one multiply-by-{02} instead of a table look-up per slot.
import { STEP, mul2, mul2Byte, ptrAt } from './common';

/**
 * P and Q of slots lo..hi (pointer list `ptrs`, 0 = null slot) for the 64
 * bytes at offset i, with Q further multiplied by {02}^lo (the slots below lo
 * are zero but still scale Q). Stores them at pout/qout, or xors them into
 * what is there when `acc` (a constant after inlining, so no branch remains).
 */
// @ts-ignore: decorator
@inline export function pqStep(ptrs: usize, lo: i32, hi: i32, i: usize, pout: usize, qout: usize, acc: bool): void {
  const zero = i8x16.splat(0);
  const poly = i8x16.splat(0x1d);
  let p0 = zero, p1 = zero, p2 = zero, p3 = zero;
  const top = ptrAt(ptrs, <usize>hi);
  if (top != 0) {
    const s = top + i;
    p0 = v128.load(s);
    p1 = v128.load(s, 16);
    p2 = v128.load(s, 32);
    p3 = v128.load(s, 48);
  }
  let q0 = p0, q1 = p1, q2 = p2, q3 = p3;
  for (let k = hi - 1; k >= lo; k--) {
    q0 = mul2(q0, zero, poly);
    q1 = mul2(q1, zero, poly);
    q2 = mul2(q2, zero, poly);
    q3 = mul2(q3, zero, poly);
    const d = ptrAt(ptrs, <usize>k);
    if (d != 0) {
      const s = d + i;
      const d0 = v128.load(s);
      const d1 = v128.load(s, 16);
      const d2 = v128.load(s, 32);
      const d3 = v128.load(s, 48);
      p0 = v128.xor(p0, d0);
      p1 = v128.xor(p1, d1);
      p2 = v128.xor(p2, d2);
      p3 = v128.xor(p3, d3);
      q0 = v128.xor(q0, d0);
      q1 = v128.xor(q1, d1);
      q2 = v128.xor(q2, d2);
      q3 = v128.xor(q3, d3);
    }
  }
  for (let k = lo; k > 0; k--) {
    q0 = mul2(q0, zero, poly);
    q1 = mul2(q1, zero, poly);
    q2 = mul2(q2, zero, poly);
    q3 = mul2(q3, zero, poly);
  }
  if (acc) {
    p0 = v128.xor(p0, v128.load(pout));
    p1 = v128.xor(p1, v128.load(pout, 16));
    p2 = v128.xor(p2, v128.load(pout, 32));
    p3 = v128.xor(p3, v128.load(pout, 48));
    q0 = v128.xor(q0, v128.load(qout));
    q1 = v128.xor(q1, v128.load(qout, 16));
    q2 = v128.xor(q2, v128.load(qout, 32));
    q3 = v128.xor(q3, v128.load(qout, 48));
  }
  v128.store(pout, p0);
  v128.store(pout, p1, 16);
  v128.store(pout, p2, 32);
  v128.store(pout, p3, 48);
  v128.store(qout, q0);
  v128.store(qout, q1, 16);
  v128.store(qout, q2, 32);
  v128.store(qout, q3, 48);
}

/** The byte-tail form of pqStep for one byte: returns P | Q << 8. */
// @ts-ignore: decorator
@inline export function pqByte(ptrs: usize, lo: i32, hi: i32, i: usize): u32 {
  let p: u32 = 0;
  let q: u32 = 0;
  for (let k = hi; k >= lo; k--) {
    q = mul2Byte(q);
    const d = ptrAt(ptrs, <usize>k);
    if (d != 0) {
      const b = <u32>load<u8>(d + i);
      p ^= b;
      q ^= b;
    }
  }
  for (let k = lo; k > 0; k--) q = mul2Byte(q);
  return p | (q << 8);
}

/**
 * P = ⊕ D and Q = Σ {02}^k·D over the n ≥ 1 data slots at `ptrs`. p or q
 * 0 skips that output (its step lands in the 128-byte `tmp` instead).
 */
export function gen_syndrome(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  const bulk = len & ~(STEP - 1);
  let i: usize = 0;
  for (; i < bulk; i += STEP) {
    pqStep(ptrs, 0, n - 1, i, p != 0 ? p + i : tmp, q != 0 ? q + i : tmp + STEP, false);
  }
  for (; i < len; i++) {
    const r = pqByte(ptrs, 0, n - 1, i);
    if (p != 0) store<u8>(p + i, <u8>r);
    if (q != 0) store<u8>(q + i, <u8>(r >> 8));
  }
}

/**
 * Read-modify-write: P ^= ⊕ D and Q ^= Σ {02}^k·D over slots start..stop of
 * the pointer list. p or q 0 skips that output.
 */
export function xor_syndrome(ptrs: usize, start: i32, stop: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  const bulk = len & ~(STEP - 1);
  let i: usize = 0;
  for (; i < bulk; i += STEP) {
    pqStep(ptrs, start, stop, i, p != 0 ? p + i : tmp, q != 0 ? q + i : tmp + STEP, true);
  }
  for (; i < len; i++) {
    const r = pqByte(ptrs, start, stop, i);
    if (p != 0) store<u8>(p + i, load<u8>(p + i) ^ <u8>r);
    if (q != 0) store<u8>(q + i, load<u8>(q + i) ^ <u8>(r >> 8));
  }
}

/**
 * Checks P and Q against the data, writing only to `tmp`: returns 1 if P
 * mismatches, 2 if Q does (both bits possible); p or q 0 is not checked.
 */
export function pq_check(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): i32 {
  const want = select<i32>(1, 0, p != 0) | select<i32>(2, 0, q != 0);
  const bulk = len & ~(STEP - 1);
  let bad = 0;
  let i: usize = 0;
  for (; i < bulk && bad != want; i += STEP) {
    pqStep(ptrs, 0, n - 1, i, tmp, tmp + STEP, false);
    if (p != 0) {
      const x = p + i;
      const d = v128.or(
        v128.or(v128.xor(v128.load(x), v128.load(tmp)), v128.xor(v128.load(x, 16), v128.load(tmp, 16))),
        v128.or(v128.xor(v128.load(x, 32), v128.load(tmp, 32)), v128.xor(v128.load(x, 48), v128.load(tmp, 48))),
      );
      if (v128.any_true(d)) bad |= 1;
    }
    if (q != 0) {
      const x = q + i;
      const t = tmp + STEP;
      const d = v128.or(
        v128.or(v128.xor(v128.load(x), v128.load(t)), v128.xor(v128.load(x, 16), v128.load(t, 16))),
        v128.or(v128.xor(v128.load(x, 32), v128.load(t, 32)), v128.xor(v128.load(x, 48), v128.load(t, 48))),
      );
      if (v128.any_true(d)) bad |= 2;
    }
  }
  for (; i < len && bad != want; i++) {
    const r = pqByte(ptrs, 0, n - 1, i);
    if (p != 0 && load<u8>(p + i) != <u8>r) bad |= 1;
    if (q != 0 && load<u8>(q + i) != <u8>(r >> 8)) bad |= 2;
  }
  return bad;
}
