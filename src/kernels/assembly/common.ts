// Helpers inlined into every kernel. Kernels keep no state: constants are
// built in registers, tables and pointer lists arrive as byte offsets.

/** Bytes per unrolled step: four v128 registers per stream. */
// @ts-ignore: decorator
@inline export const STEP: usize = 64;

/** Reads entry `i` of a pointer list (u32 byte offsets; 0 is a null slot). */
// @ts-ignore: decorator
@inline export function ptrAt(list: usize, i: usize): usize {
  return <usize>load<u32>(list + (i << 2));
}

/**
 * Multiplies 16 field elements by {02}: shift left, and fold 0x1d into the
 * bytes whose top bit fell off. lt_s against zero is one compare on x86
 * (pcmpgtb), cheaper than an arithmetic byte shift, which SSE lacks.
 */
// @ts-ignore: decorator
@inline export function mul2(v: v128, zero: v128, poly: v128): v128 {
  return v128.xor(i8x16.add(v, v), v128.and(i8x16.lt_s(v, zero), poly));
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
