/**
 * GF(2^8) arithmetic for RAID-6, as Linux lib/raid6 and Intel ISA-L define it:
 * reducing polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator {02}.
 *
 * Tables are built from the definition below, so there is no hand-copied
 * table to get wrong: exp, log and inverse (a few hundred bytes) at module
 * load, the multiplication rows and nibble tables when first asked for — a
 * 64 Ki-entry loop at import cost every process milliseconds before its first
 * operation.
 */

export const GF_POLY = 0x11d;
export const GF_GENERATOR = 0x02;

/** Multiply two field elements by shift-and-add; the definition every table is checked against. */
export function gfMulSlow(a: number, b: number): number {
  let product = 0;
  a &= 0xff;
  b &= 0xff;
  while (b !== 0) {
    if (b & 1) product ^= a;
    a <<= 1;
    if (a & 0x100) a ^= GF_POLY;
    b >>= 1;
  }
  return product;
}

/** gfExp[i] = {02}^i for i in 0..509 (doubled so exp[log a + log b] needs no modulo). */
export const gfExp = new Uint8Array(510);
/** gfLog[a] = i such that {02}^i = a, for a ≠ 0 (gfLog[0] is unused and left 0). */
export const gfLog = new Uint8Array(256);
/** gfInv[a] = a^-1 for a ≠ 0 (gfInv[0] = 0 by convention). */
export const gfInv = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    gfExp[i] = x;
    gfExp[i + 255] = x;
    gfLog[x] = i;
    x = gfMulSlow(x, GF_GENERATOR);
  }
  for (let a = 1; a < 256; a++) gfInv[a] = gfExp[255 - gfLog[a]];
}

/** a·b in GF(2^8). */
export function gfMul(a: number, b: number): number {
  a &= 0xff;
  b &= 0xff;
  return a === 0 || b === 0 ? 0 : gfExp[gfLog[a] + gfLog[b]];
}

const mulRows: Array<Uint8Array | undefined> = new Array(256);

/** The 256 products c·x, x = 0..255 (made on first use, then kept): what the scalar kernels multiply by. */
export function gfMulRow(c: number): Uint8Array {
  c &= 0xff;
  let row = mulRows[c];
  if (row === undefined) {
    row = new Uint8Array(256);
    if (c !== 0) for (let x = 1; x < 256; x++) row[x] = gfExp[gfLog[c] + gfLog[x]];
    mulRows[c] = row;
  }
  return row;
}

/** {02}^n for any integer n (negative allowed). */
export function gfPow2(n: number): number {
  const e = ((n % 255) + 255) % 255;
  return gfExp[e];
}

/** a / b in GF(2^8); throws RangeError on division by zero (an internal invariant). */
export function gfDiv(a: number, b: number): number {
  if ((b & 0xff) === 0) throw new RangeError('gfDiv: division by zero');
  return gfMul(a, gfInv[b & 0xff]);
}

/**
 * The two 16-entry nibble tables for multiplying by constant c, as the SIMD
 * kernels use them (one `i8x16.swizzle` per nibble):
 * c·x = low[x & 0x0f] ^ high[x >> 4]. Returned as one 32-byte array: low then high.
 */
export function gfNibbleTables(c: number): Uint8Array {
  const at = (c & 0xff) * 32;
  return gfNibbleTableAll().slice(at, at + 32);
}

let nibbleAll: Uint8Array | null = null;

/** Nibble tables for all 256 constants, 32 bytes each (8 KiB), indexed by c * 32 (made on first use; do not modify). */
export function gfNibbleTableAll(): Uint8Array {
  if (nibbleAll === null) {
    const all = new Uint8Array(256 * 32);
    for (let c = 1; c < 256; c++) {
      for (let n = 1; n < 16; n++) {
        all[c * 32 + n] = gfMul(c, n);
        all[c * 32 + 16 + n] = gfMul(c, n << 4);
      }
    }
    nibbleAll = all;
  }
  return nibbleAll;
}

/**
 * Coefficients for recovering two data blocks a < b from P, Q and the
 * partial syndromes Pxy, Qxy computed with a and b zeroed (Linux raid6_2data_recov):
 * D_b = pcoef·(P⊕Pxy) ⊕ qcoef·(Q⊕Qxy), D_a = D_b ⊕ (P⊕Pxy).
 */
export function raid6TwoDataCoefficients(faila: number, failb: number): { pcoef: number; qcoef: number } {
  const a = Math.min(faila, failb);
  const b = Math.max(faila, failb);
  const pcoef = gfInv[gfPow2(b - a) ^ 1];
  const qcoef = gfInv[gfPow2(a) ^ gfPow2(b)];
  return { pcoef, qcoef };
}

/** Coefficient for data+P recovery: D_a = g^(−a)·(Q⊕Q'). */
export function raid6DataPCoefficient(faila: number): number {
  return gfPow2(-faila);
}
