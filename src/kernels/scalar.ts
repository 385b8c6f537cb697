/**
 * Scalar reference kernels: the truth that every faster kernel is tested
 * against. Readable first; 32-bit words where the views are 4-byte aligned,
 * bytes otherwise and for the tail.
 */
import { gfMulRow, raid6DataPCoefficient, raid6TwoDataCoefficients } from '../gf/gf256.js';
import type { Block, KernelSet, Slot } from './types.js';

/** A 32-bit view of the 4-byte-aligned bulk of `b`, or null when `b` is not 4-byte aligned. */
function words(b: Block): Int32Array | null {
  if ((b.byteOffset & 3) !== 0) return null;
  return new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

/** Word views for all blocks, or null unless every block is aligned. */
function allWords(blocks: readonly Block[]): Int32Array[] | null {
  const out: Int32Array[] = [];
  for (const b of blocks) {
    const w = words(b);
    if (w === null) return null;
    out.push(w);
  }
  return out;
}

/** Multiply four packed GF(2^8) bytes by {02} at once. */
function mul2x4(v: number): number {
  return ((v & 0x7f7f7f7f) << 1) ^ (((v >>> 7) & 0x01010101) * 0x1d);
}

function mul2(v: number): number {
  return ((v << 1) ^ (v & 0x80 ? 0x1d : 0)) & 0xff;
}

function xor(dest: Block, srcs: readonly Block[]): void {
  const len = dest.length;
  // Accumulate into a temporary word/byte so dest may be one of the sources.
  const ws = allWords([dest, ...srcs]);
  let start = 0;
  if (ws !== null) {
    const [dw, ...sw] = ws;
    for (let i = 0; i < dw.length; i++) {
      let acc = 0;
      for (let s = 0; s < sw.length; s++) acc ^= sw[s][i];
      dw[i] = acc;
    }
    start = dw.length << 2;
  }
  for (let i = start; i < len; i++) {
    let acc = 0;
    for (let s = 0; s < srcs.length; s++) acc ^= srcs[s][i];
    dest[i] = acc;
  }
}

function xorIsZero(srcs: readonly Block[]): boolean {
  const len = srcs[0].length;
  for (let i = 0; i < len; i++) {
    let acc = 0;
    for (let s = 0; s < srcs.length; s++) acc ^= srcs[s][i];
    if (acc !== 0) return false;
  }
  return true;
}

/**
 * Computes the partial syndrome of slots start..stop into fresh arrays:
 * Anvin's method, Q = Q·{02} ⊕ D_i from the highest slot down, then Q·{02}^start.
 */
function syndrome(data: readonly Slot[], start: number, stop: number, len: number): { p: Uint8Array; q: Uint8Array } {
  const p = new Uint8Array(len);
  const q = new Uint8Array(len);
  const pw = words(p)!;
  const qw = words(q)!;
  for (let slot = stop; slot >= start; slot--) {
    const d = data[slot];
    const dw = d === null ? null : words(d);
    const bulk = pw.length;
    if (d === null) {
      for (let i = 0; i < bulk; i++) qw[i] = mul2x4(qw[i]);
      for (let i = bulk << 2; i < len; i++) q[i] = mul2(q[i]);
    } else if (dw !== null) {
      for (let i = 0; i < bulk; i++) {
        pw[i] ^= dw[i];
        qw[i] = mul2x4(qw[i]) ^ dw[i];
      }
      for (let i = bulk << 2; i < len; i++) {
        p[i] ^= d[i];
        q[i] = mul2(q[i]) ^ d[i];
      }
    } else {
      for (let i = 0; i < len; i++) {
        p[i] ^= d[i];
        q[i] = mul2(q[i]) ^ d[i];
      }
    }
  }
  // Slots below start contribute nothing but still scale Q by {02} each.
  for (let slot = start - 1; slot >= 0; slot--) {
    for (let i = 0; i < pw.length; i++) qw[i] = mul2x4(qw[i]);
    for (let i = pw.length << 2; i < len; i++) q[i] = mul2(q[i]);
  }
  return { p, q };
}

function genSyndrome(data: readonly Slot[], p: Block | null, q: Block | null): void {
  const len = (p ?? q)!.length;
  const s = syndrome(data, 0, data.length - 1, len);
  if (p !== null) p.set(s.p);
  if (q !== null) q.set(s.q);
}

function xorSyndrome(data: readonly Slot[], p: Block | null, q: Block | null, start: number, stop: number): void {
  const len = (p ?? q)!.length;
  const s = syndrome(data, start, stop, len);
  if (p !== null) xor(p, [p, s.p]);
  if (q !== null) xor(q, [q, s.q]);
}

function equal(a: Block, b: Block): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function pqCheck(data: readonly Slot[], p: Block | null, q: Block | null): number {
  const len = (p ?? q)!.length;
  const s = syndrome(data, 0, data.length - 1, len);
  let result = 0;
  if (p !== null && !equal(p, s.p)) result |= 1;
  if (q !== null && !equal(q, s.q)) result |= 2;
  return result;
}

function mulConst(dest: Block, src: Block, c: number): void {
  const row = gfMulRow(c);
  for (let i = 0; i < dest.length; i++) dest[i] = row[src[i]];
}

function mulAcc(dest: Block, src: Block, c: number): void {
  const row = gfMulRow(c);
  for (let i = 0; i < dest.length; i++) dest[i] ^= row[src[i]];
}

function withSlots(data: readonly Slot[], slots: number[]): Slot[] {
  const out = data.slice();
  for (const s of slots) out[s] = null;
  return out;
}

function recov2Data(data: readonly Slot[], p: Block, q: Block, faila: number, failb: number): void {
  const a = Math.min(faila, failb);
  const b = Math.max(faila, failb);
  const da = data[a]!;
  const db = data[b]!;
  const s = syndrome(withSlots(data, [a, b]), 0, data.length - 1, p.length);
  const { pcoef, qcoef } = raid6TwoDataCoefficients(a, b);
  const prow = gfMulRow(pcoef);
  const qrow = gfMulRow(qcoef);
  for (let i = 0; i < p.length; i++) {
    const px = p[i] ^ s.p[i];
    const qx = q[i] ^ s.q[i];
    const bv = prow[px] ^ qrow[qx];
    db[i] = bv;
    da[i] = bv ^ px;
  }
}

function recovDataP(data: readonly Slot[], p: Block, q: Block, faila: number): void {
  const da = data[faila]!;
  const s = syndrome(withSlots(data, [faila]), 0, data.length - 1, p.length);
  const row = gfMulRow(raid6DataPCoefficient(faila));
  for (let i = 0; i < p.length; i++) {
    const dv = row[q[i] ^ s.q[i]];
    da[i] = dv;
    p[i] = s.p[i] ^ dv;
  }
}

function isZero(buf: Block): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** The scalar reference kernel set. */
export const scalarKernels: KernelSet = {
  name: 'scalar',
  memcpy: (dest, src) => dest.set(src),
  memset: (dest, value) => dest.fill(value),
  xor,
  xorIsZero,
  genSyndrome,
  xorSyndrome,
  pqCheck,
  mulConst,
  mulAcc,
  recov2Data,
  recovDataP,
  isZero,
  equal,
};

