// RAID-6 P+Q by Anvin's method: Q = Q·{02} ⊕ D from the highest slot down,
// so each slot costs one multiply-by-{02} instead of a table look-up.
//
// Loop order, measured (8 data slots, 2-core Zen 5 VM, V8 11.3): reading all
// slots 64 bytes at a time keeps P and Q in registers but interleaves 8+
// memory streams so finely that out-of-cache throughput (8 × 1 MiB) falls to
// ~9 GB/s; one slot at a time over a chunk streams well but moves the
// accumulators through L1 for every slot. A few slots per pass over 1 KiB
// chunks, accumulators in `tmp` between passes, is as good as either where it
// is good: 3 slots ~36 GB/s in cache (8 × 64 KiB) and ~24 GB/s out of it; 2
// slots ~32 and ~25; 4 slots ~35 and ~10.
import { MUL2_CMP, MUL2_MUL16, MUL2_SRA, STEP, mul2By, mul2Byte, mul2K1, mul2K2, ptrAt, storeLanes } from './common';

/** Bytes per chunk; the accumulators take 2·CHUNK bytes of `tmp`. */
// @ts-ignore: decorator
@inline export const CHUNK: usize = 1024;
/** Slots per pass for gen/xor_syndrome and pq_check. */
// @ts-ignore: decorator
@inline export const GROUP: i32 = 3;
/** Slots per pass for the recovery loops (three cost them half their out-of-cache speed). */
// @ts-ignore: decorator
@inline export const RECOV_GROUP: i32 = 2;

/**
 * One step of slots hi..lo (a pass of up to GROUP; pointer 0 = null slot,
 * looked for only when `nullable`) over `lanes` (2 or 4) 16-byte lanes, each
 * its own Q chain (Horner's rule is serial per lane; the lanes interleave),
 * Q multiplied by {02} the way `how` says: starts from the accumulators at
 * ap/aq (`acc`) or from zero, and stores P and Q at pout/qout (which may be ap/aq).
 */
// @ts-ignore: decorator
@inline function pass(
  ptrs: usize, hi: i32, lo: i32, i: usize, acc: bool, nullable: bool, ap: usize, aq: usize, pout: usize, qout: usize,
  lanes: i32, how: i32,
): void {
  const zero = i8x16.splat(0);
  const k1 = mul2K1(how);
  const k2 = mul2K2(how);
  let p0 = zero, p1 = zero, p2 = zero, p3 = zero;
  let k = hi;
  if (acc) {
    p0 = v128.load(ap);
    p1 = v128.load(ap, 16);
    if (lanes == 4) {
      p2 = v128.load(ap, 32);
      p3 = v128.load(ap, 48);
    }
  } else {
    // The top slot starts P and Q as itself: no multiply of a zero Q.
    const top = ptrAt(ptrs, <usize>hi);
    if (!nullable || top != 0) {
      const s = top + i;
      p0 = v128.load(s);
      p1 = v128.load(s, 16);
      if (lanes == 4) {
        p2 = v128.load(s, 32);
        p3 = v128.load(s, 48);
      }
    }
    k--;
  }
  let q0 = p0, q1 = p1, q2 = p2, q3 = p3;
  if (acc) {
    q0 = v128.load(aq);
    q1 = v128.load(aq, 16);
    if (lanes == 4) {
      q2 = v128.load(aq, 32);
      q3 = v128.load(aq, 48);
    }
  }
  for (; k >= lo; k--) {
    q0 = mul2By(q0, k1, k2, how);
    q1 = mul2By(q1, k1, k2, how);
    if (lanes == 4) {
      q2 = mul2By(q2, k1, k2, how);
      q3 = mul2By(q3, k1, k2, how);
    }
    const d = ptrAt(ptrs, <usize>k);
    if (!nullable || d != 0) {
      const s = d + i;
      const d0 = v128.load(s);
      const d1 = v128.load(s, 16);
      p0 = v128.xor(p0, d0);
      p1 = v128.xor(p1, d1);
      q0 = v128.xor(q0, d0);
      q1 = v128.xor(q1, d1);
      if (lanes == 4) {
        const d2 = v128.load(s, 32);
        const d3 = v128.load(s, 48);
        p2 = v128.xor(p2, d2);
        p3 = v128.xor(p3, d3);
        q2 = v128.xor(q2, d2);
        q3 = v128.xor(q3, d3);
      }
    }
  }
  storeLanes(pout, p0, p1, p2, p3, lanes);
  storeLanes(qout, q0, q1, q2, q3, lanes);
}

/** The chunk loop of syndromeChunk, specialized on whether null slots can occur. */
// @ts-ignore: decorator
@inline function chunkOf(
  ptrs: usize, lo: i32, hi: i32, c: usize, m: usize, tmp: usize, pout: usize, qout: usize, nullable: bool, group: i32,
  lanes: i32, how: i32,
): void {
  const ap = tmp;
  const aq = tmp + CHUNK;
  const step = <usize>lanes * 16;
  // The first pass starts from zero, the others from the accumulators: two loops, so
  // that each inlined pass is specialized (a runtime flag costs ~20 % here).
  let bottom = max(hi - group + 1, lo);
  let po = bottom == lo ? pout : ap;
  let qo = bottom == lo ? qout : aq;
  for (let j: usize = 0; j < m; j += step) pass(ptrs, hi, bottom, c + j, false, nullable, ap + j, aq + j, po + j, qo + j, lanes, how);
  let top = bottom - 1;
  while (top >= lo) {
    bottom = max(top - group + 1, lo);
    po = bottom == lo ? pout : ap;
    qo = bottom == lo ? qout : aq;
    for (let j: usize = 0; j < m; j += step) pass(ptrs, top, bottom, c + j, true, nullable, ap + j, aq + j, po + j, qo + j, lanes, how);
    top = bottom - 1;
  }
}

/** True when slots lo..hi hold a null (0) pointer. */
// @ts-ignore: decorator
@inline export function hasNull(ptrs: usize, lo: i32, hi: i32): bool {
  for (let k = lo; k <= hi; k++) if (ptrAt(ptrs, <usize>k) == 0) return true;
  return false;
}

/**
 * P and Q of slots lo..hi over bytes [c, c + m) (m a multiple of 64, at most
 * CHUNK), stored at pout/qout + 0..m (which may be the accumulators at tmp
 * and tmp + CHUNK). Q is not scaled for the slots below lo. `nulls`:
 * hasNull(ptrs, lo, hi), computed once per call; without nulls the passes
 * skip the per-slot test (~5 %). `lanes` and `how`: as for pass (the
 * recovery loops take the default, 4 lanes and MUL2_CMP).
 */
// @ts-ignore: decorator
@inline export function syndromeChunk(
  ptrs: usize, lo: i32, hi: i32, c: usize, m: usize, tmp: usize, pout: usize, qout: usize, nulls: bool, group: i32,
  lanes: i32 = 4, how: i32 = MUL2_CMP,
): void {
  if (nulls) chunkOf(ptrs, lo, hi, c, m, tmp, pout, qout, true, group, lanes, how);
  else chunkOf(ptrs, lo, hi, c, m, tmp, pout, qout, false, group, lanes, how);
}

/** The byte form for the tails: P | Q << 8 of slots lo..hi at byte i, Q scaled by {02}^lo. */
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
 * 0 skips that output. `tmp`: 2·CHUNK bytes of scratch.
 */
// @ts-ignore: decorator
@inline function genSyndrome(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize, lanes: i32, how: i32): void {
  const bulk = len & ~(STEP - 1);
  const nulls = hasNull(ptrs, 0, n - 1);
  for (let c: usize = 0; c < bulk; c += CHUNK) {
    // A skipped output lands in its accumulator, which the last pass no longer reads.
    syndromeChunk(ptrs, 0, n - 1, c, min(CHUNK, bulk - c), tmp, p != 0 ? p + c : tmp, q != 0 ? q + c : tmp + CHUNK, nulls, GROUP, lanes, how);
  }
  for (let i = bulk; i < len; i++) {
    const r = pqByte(ptrs, 0, n - 1, i);
    if (p != 0) store<u8>(p + i, <u8>r);
    if (q != 0) store<u8>(q + i, <u8>(r >> 8));
  }
}

/**
 * Read-modify-write: P ^= ⊕ D and Q ^= Σ {02}^k·D over slots start..stop of
 * the pointer list (start ≤ stop). p or q 0 skips that output.
 */
// @ts-ignore: decorator
@inline function xorSyndrome(ptrs: usize, start: i32, stop: i32, p: usize, q: usize, tmp: usize, len: usize, lanes: i32, how: i32): void {
  const k1 = mul2K1(how);
  const k2 = mul2K2(how);
  const bulk = len & ~(STEP - 1);
  const nulls = hasNull(ptrs, start, stop);
  for (let c: usize = 0; c < bulk; c += CHUNK) {
    const m = min(CHUNK, bulk - c);
    syndromeChunk(ptrs, start, stop, c, m, tmp, tmp, tmp + CHUNK, nulls, GROUP, lanes, how);
    for (let j: usize = 0; j < m; j += 16) {
      if (p != 0) v128.store(p + c + j, v128.xor(v128.load(p + c + j), v128.load(tmp + j)));
      if (q != 0) {
        // The slots below start are zero but still scale Q by {02} each.
        let w = v128.load(tmp + CHUNK + j);
        for (let k = start; k > 0; k--) w = mul2By(w, k1, k2, how);
        v128.store(q + c + j, v128.xor(v128.load(q + c + j), w));
      }
    }
  }
  for (let i = bulk; i < len; i++) {
    const r = pqByte(ptrs, start, stop, i);
    if (p != 0) store<u8>(p + i, load<u8>(p + i) ^ <u8>r);
    if (q != 0) store<u8>(q + i, load<u8>(q + i) ^ <u8>(r >> 8));
  }
}

/**
 * Checks P and Q against the data, writing only to `tmp`: returns 1 if P
 * mismatches, 2 if Q does (both bits possible); p or q 0 is not checked.
 */
// @ts-ignore: decorator
@inline function pqCheck(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize, lanes: i32, how: i32): i32 {
  const want = select<i32>(1, 0, p != 0) | select<i32>(2, 0, q != 0);
  const bulk = len & ~(STEP - 1);
  const nulls = hasNull(ptrs, 0, n - 1);
  let bad = 0;
  for (let c: usize = 0; c < bulk && bad != want; c += CHUNK) {
    const m = min(CHUNK, bulk - c);
    syndromeChunk(ptrs, 0, n - 1, c, m, tmp, tmp, tmp + CHUNK, nulls, GROUP, lanes, how);
    let dp = i8x16.splat(0);
    let dq = dp;
    for (let j: usize = 0; j < m; j += 16) {
      if (p != 0) dp = v128.or(dp, v128.xor(v128.load(p + c + j), v128.load(tmp + j)));
      if (q != 0) dq = v128.or(dq, v128.xor(v128.load(q + c + j), v128.load(tmp + CHUNK + j)));
    }
    if (v128.any_true(dp)) bad |= 1;
    if (v128.any_true(dq)) bad |= 2;
  }
  for (let i = bulk; i < len && bad != want; i++) {
    const r = pqByte(ptrs, 0, n - 1, i);
    if (p != 0 && load<u8>(p + i) != <u8>r) bad |= 1;
    if (q != 0 && load<u8>(q + i) != <u8>(r >> 8)) bad |= 2;
  }
  return bad;
}

/*
 * The exports: four 16-byte lanes per step with the compare fold (the
 * default), and the variants the start-up selection may choose instead
 * (src/kernels/wasm_variants.ts): two lanes (_l2), and the other two folds
 * (_sra, _m16). Every variant computes the same bytes.
 */
export function gen_syndrome(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  genSyndrome(ptrs, n, p, q, tmp, len, 4, MUL2_CMP);
}
export function gen_syndrome_l2(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  genSyndrome(ptrs, n, p, q, tmp, len, 2, MUL2_CMP);
}
export function gen_syndrome_sra(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  genSyndrome(ptrs, n, p, q, tmp, len, 4, MUL2_SRA);
}
export function gen_syndrome_m16(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  genSyndrome(ptrs, n, p, q, tmp, len, 4, MUL2_MUL16);
}

export function xor_syndrome(ptrs: usize, start: i32, stop: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  xorSyndrome(ptrs, start, stop, p, q, tmp, len, 4, MUL2_CMP);
}
export function xor_syndrome_l2(ptrs: usize, start: i32, stop: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  xorSyndrome(ptrs, start, stop, p, q, tmp, len, 2, MUL2_CMP);
}
export function xor_syndrome_sra(ptrs: usize, start: i32, stop: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  xorSyndrome(ptrs, start, stop, p, q, tmp, len, 4, MUL2_SRA);
}
export function xor_syndrome_m16(ptrs: usize, start: i32, stop: i32, p: usize, q: usize, tmp: usize, len: usize): void {
  xorSyndrome(ptrs, start, stop, p, q, tmp, len, 4, MUL2_MUL16);
}

export function pq_check(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): i32 {
  return pqCheck(ptrs, n, p, q, tmp, len, 4, MUL2_CMP);
}
export function pq_check_l2(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): i32 {
  return pqCheck(ptrs, n, p, q, tmp, len, 2, MUL2_CMP);
}
export function pq_check_sra(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): i32 {
  return pqCheck(ptrs, n, p, q, tmp, len, 4, MUL2_SRA);
}
export function pq_check_m16(ptrs: usize, n: i32, p: usize, q: usize, tmp: usize, len: usize): i32 {
  return pqCheck(ptrs, n, p, q, tmp, len, 4, MUL2_MUL16);
}
