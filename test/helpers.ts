/** Shared test helpers: deterministic data, fixtures, and a byte-by-byte GF(2^8) model. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gfMulSlow } from '../src/gf/index.js';

/** The repository root, from the compiled test's location (dist/test/…). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url));
}

/** xorshift32 bytes, 4 at a time little-endian (the generator of shared/vectors/pq-isal.json). */
export function xorshift32(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    for (let b = 0; b < 4 && i + b < length; b++) out[i + b] = (x >>> (8 * b)) & 0xff;
  }
  return out;
}

/** A buffer of `len` pseudo-random bytes (seeded). */
export function randomBlock(len: number, seed: number): Uint8Array {
  return xorshift32(seed * 2654435761 + 1, len);
}

/** {02}^i by repeated multiplication, independent of the library's tables. */
export function pow2Slow(i: number): number {
  let v = 1;
  for (let k = 0; k < i; k++) v = gfMulSlow(v, 2);
  return v;
}

/** P and Q by the textbook definition, one byte at a time. */
export function modelPQ(data: ReadonlyArray<Uint8Array | null>, len: number): { p: Uint8Array; q: Uint8Array } {
  const p = new Uint8Array(len);
  const q = new Uint8Array(len);
  data.forEach((d, i) => {
    if (d === null) return;
    const g = pow2Slow(i);
    for (let j = 0; j < len; j++) {
      p[j] ^= d[j];
      q[j] ^= gfMulSlow(g, d[j]);
    }
  });
  return { p, q };
}

/** A view of `len` bytes at `offset` inside a larger buffer (to test odd offsets). */
export function embedded(bytes: Uint8Array, offset: number, slack = 7): { buf: Uint8Array; view: Uint8Array } {
  const buf = new Uint8Array(offset + bytes.length + slack);
  buf.fill(0xa5);
  buf.set(bytes, offset);
  return { buf, view: buf.subarray(offset, offset + bytes.length) };
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}
