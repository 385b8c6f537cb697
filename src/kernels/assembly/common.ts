// Helpers inlined into every kernel. Kernels keep no state: constants are
// built in registers, tables and pointer lists arrive as byte offsets.

/** Bytes per unrolled step: four v128 registers per stream. */
// @ts-ignore: decorator
@inline export const STEP: usize = 64;

/** Stores the first `lanes` (2 or 4) of a0..a3 at d, d + 16, … */
// @ts-ignore: decorator
@inline export function storeLanes(d: usize, a0: v128, a1: v128, a2: v128, a3: v128, lanes: i32): void {
  v128.store(d, a0);
  v128.store(d, a1, 16);
  if (lanes == 4) {
    v128.store(d, a2, 32);
    v128.store(d, a3, 48);
  }
}

/** Reads entry `i` of a pointer list (u32 byte offsets; 0 is a null slot). */
// @ts-ignore: decorator
@inline export function ptrAt(list: usize, i: usize): usize {
  return <usize>load<u32>(list + (i << 2));
}

/**
 * How a Q chain multiplies 16 field elements by {02}: double each byte
 * (i8x16.add, one paddb; i8x16.shl has no byte form on x86) and fold 0x1d
 * into the bytes whose top bit fell off. The fold's mask is what differs:
 * - MUL2_CMP: lt_s against zero, one compare on x86 (pcmpgtb), and an and;
 * - MUL2_SRA: i8x16.shr_s by 7 (all ones where the top bit is set), and an and;
 * - MUL2_MUL16: each byte's top bit moved to its bit 0 by one 16-bit shift and
 *   a mask, times 0x1d per 16-bit lane (each byte's product stays in its byte).
 * The start-up selection picks among them (src/kernels/wasm_variants.ts).
 */
// @ts-ignore: decorator
@inline export const MUL2_CMP: i32 = 0;
// @ts-ignore: decorator
@inline export const MUL2_SRA: i32 = 1;
// @ts-ignore: decorator
@inline export const MUL2_MUL16: i32 = 2;

/** The first constant mul2By takes for `how`: zero (CMP, SRA) or the 16-bit mask 0x0101 (MUL16). */
// @ts-ignore: decorator
@inline export function mul2K1(how: i32): v128 {
  return how == MUL2_MUL16 ? i16x8.splat(0x0101) : i8x16.splat(0);
}

/** The second: 0x1d in every byte (CMP, SRA) or in every 16-bit lane (MUL16). */
// @ts-ignore: decorator
@inline export function mul2K2(how: i32): v128 {
  return how == MUL2_MUL16 ? i16x8.splat(0x1d) : i8x16.splat(0x1d);
}

/** {02}·v the way `how` says, with k1 = mul2K1(how) and k2 = mul2K2(how) built once outside the loop. */
// @ts-ignore: decorator
@inline export function mul2By(v: v128, k1: v128, k2: v128, how: i32): v128 {
  const twice = i8x16.add(v, v);
  if (how == MUL2_SRA) return v128.xor(twice, v128.and(i8x16.shr_s(v, 7), k2));
  if (how == MUL2_MUL16) return v128.xor(twice, i16x8.mul(v128.and(i16x8.shr_u(v, 7), k1), k2));
  return v128.xor(twice, v128.and(i8x16.lt_s(v, k1), k2));
}

/** Scalar {02}·b for the byte tails. */
// @ts-ignore: decorator
@inline export function mul2Byte(b: u32): u32 {
  return ((b << 1) ^ (select<u32>(0x1d, 0, (b & 0x80) != 0))) & 0xff;
}

/**
 * c·v with the constant's two 16-entry nibble tables (low nibble, high
 * nibble): one swizzle per nibble. Indices stay in 0..15, so the swizzle
 * never meets its out-of-range case.
 */
// @ts-ignore: decorator
@inline export function mulNib(v: v128, lo: v128, hi: v128, mask: v128): v128 {
  const l = v128.and(v, mask);
  const h = v128.and(i16x8.shr_u(v, 4), mask);
  return v128.xor(i8x16.swizzle(lo, l), i8x16.swizzle(hi, h));
}

/** Scalar c·b from the same nibble tables at `tbl` (low 16 bytes, high 16 bytes). */
// @ts-ignore: decorator
@inline export function mulNibByte(b: u32, tbl: usize): u32 {
  return <u32>load<u8>(tbl + (b & 15)) ^ <u32>load<u8>(tbl + 16 + (b >> 4));
}
