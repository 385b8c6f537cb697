// Multiply-by-constant and the RAID-6 recovery loops. A constant arrives as
// the byte offset of its 32-byte nibble tables (16 for the low nibble, 16 for
// the high), which the loader keeps in the shared memory.
import { STEP, mulNib, mulNibByte } from './common';
import { CHUNK, RECOV_GROUP, pqByte, syndromeChunk } from './syndrome';

/** dst = c·src (c's tables at `tbl`); dst may be src. */
export function mul_const(dst: usize, src: usize, tbl: usize, len: usize): void {
  const mask = i8x16.splat(0x0f);
  const lo = v128.load(tbl);
  const hi = v128.load(tbl, 16);
  const bulk = len & ~(STEP - 1);
  let i: usize = 0;
  for (; i < bulk; i += STEP) {
    const s = src + i;
    const d = dst + i;
    const r0 = mulNib(v128.load(s), lo, hi, mask);
    const r1 = mulNib(v128.load(s, 16), lo, hi, mask);
    const r2 = mulNib(v128.load(s, 32), lo, hi, mask);
    const r3 = mulNib(v128.load(s, 48), lo, hi, mask);
    v128.store(d, r0);
    v128.store(d, r1, 16);
    v128.store(d, r2, 32);
    v128.store(d, r3, 48);
  }
  for (; i < len; i++) store<u8>(dst + i, <u8>mulNibByte(load<u8>(src + i), tbl));
}

/** dst ^= c·src (c's tables at `tbl`); dst must not be src. */
export function mul_acc(dst: usize, src: usize, tbl: usize, len: usize): void {
  const mask = i8x16.splat(0x0f);
  const lo = v128.load(tbl);
  const hi = v128.load(tbl, 16);
  const bulk = len & ~(STEP - 1);
  let i: usize = 0;
  for (; i < bulk; i += STEP) {
    const s = src + i;
    const d = dst + i;
    const r0 = v128.xor(v128.load(d), mulNib(v128.load(s), lo, hi, mask));
    const r1 = v128.xor(v128.load(d, 16), mulNib(v128.load(s, 16), lo, hi, mask));
    const r2 = v128.xor(v128.load(d, 32), mulNib(v128.load(s, 32), lo, hi, mask));
    const r3 = v128.xor(v128.load(d, 48), mulNib(v128.load(s, 48), lo, hi, mask));
    v128.store(d, r0);
    v128.store(d, r1, 16);
    v128.store(d, r2, 32);
    v128.store(d, r3, 48);
  }
  for (; i < len; i++) store<u8>(dst + i, load<u8>(dst + i) ^ <u8>mulNibByte(load<u8>(src + i), tbl));
}

/**
 * Two failed data slots in one pass over the stripe. The pointer list has the
 * failed slots set to 0, so each chunk's syndrome (into `tmp`) is Pxy/Qxy;
 * then D_b = pcoef·(P⊕Pxy) ⊕ qcoef·(Q⊕Qxy) and D_a = D_b ⊕ (P⊕Pxy), with
 * the coefficients' tables at ptbl/qtbl.
 */
export function recov_2data(
  ptrs: usize, n: i32, p: usize, q: usize, da: usize, db: usize, ptbl: usize, qtbl: usize, tmp: usize, len: usize,
): void {
  const mask = i8x16.splat(0x0f);
  const plo = v128.load(ptbl);
  const phi = v128.load(ptbl, 16);
  const qlo = v128.load(qtbl);
  const qhi = v128.load(qtbl, 16);
  const bulk = len & ~(STEP - 1);
  for (let c: usize = 0; c < bulk; c += CHUNK) {
    const m = min(CHUNK, bulk - c);
    // The failed slots are always null here.
    syndromeChunk(ptrs, 0, n - 1, c, m, tmp, tmp, tmp + CHUNK, true, RECOV_GROUP);
    for (let j: usize = 0; j < m; j += 16) {
      const px = v128.xor(v128.load(p + c + j), v128.load(tmp + j));
      const qx = v128.xor(v128.load(q + c + j), v128.load(tmp + CHUNK + j));
      const b = v128.xor(mulNib(px, plo, phi, mask), mulNib(qx, qlo, qhi, mask));
      v128.store(db + c + j, b);
      v128.store(da + c + j, v128.xor(b, px));
    }
  }
  for (let i = bulk; i < len; i++) {
    const r = pqByte(ptrs, 0, n - 1, i);
    const px = (<u32>load<u8>(p + i)) ^ (r & 0xff);
    const qx = (<u32>load<u8>(q + i)) ^ (r >> 8);
    const b = mulNibByte(px, ptbl) ^ mulNibByte(qx, qtbl);
    store<u8>(db + i, <u8>b);
    store<u8>(da + i, <u8>(b ^ px));
  }
}

/**
 * A failed data slot and P in one pass over the stripe. The pointer list has
 * the failed slot set to 0; D_a = coef·(Q⊕Qx) (coef's tables at `tbl`), then
 * P = Px ⊕ D_a. P is only written.
 */
export function recov_datap(ptrs: usize, n: i32, p: usize, q: usize, da: usize, tbl: usize, tmp: usize, len: usize): void {
  const mask = i8x16.splat(0x0f);
  const lo = v128.load(tbl);
  const hi = v128.load(tbl, 16);
  const bulk = len & ~(STEP - 1);
  for (let c: usize = 0; c < bulk; c += CHUNK) {
    const m = min(CHUNK, bulk - c);
    // The failed slots are always null here.
    syndromeChunk(ptrs, 0, n - 1, c, m, tmp, tmp, tmp + CHUNK, true, RECOV_GROUP);
    for (let j: usize = 0; j < m; j += 16) {
      const d = mulNib(v128.xor(v128.load(q + c + j), v128.load(tmp + CHUNK + j)), lo, hi, mask);
      v128.store(da + c + j, d);
      v128.store(p + c + j, v128.xor(d, v128.load(tmp + j)));
    }
  }
  for (let i = bulk; i < len; i++) {
    const r = pqByte(ptrs, 0, n - 1, i);
    const d = mulNibByte((<u32>load<u8>(q + i)) ^ (r >> 8), tbl);
    store<u8>(da + i, <u8>d);
    store<u8>(p + i, <u8>(d ^ (r & 0xff)));
  }
}
