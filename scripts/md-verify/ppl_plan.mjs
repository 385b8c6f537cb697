// The writes of the md-verify PPL cases, shared by the host side (matrix), the
// asynctx writer that is killed (ppl_writer.mjs) and, as SHELL_PLAN in
// ppl_cases.mjs, the dd loop in the VM.

/** `len` deterministic bytes for `seed` (xorshift32 words). */
export function fill(len, seed) {
  const out = Buffer.alloc(len);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= len; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out;
}

/**
 * Write `i` in an array of `size` bytes: an unaligned piece of one slot, the
 * slots visited 7 apart so consecutive writes land in different stripes.
 * `align` 1: byte-unaligned 90 KiB slots (asynctx); 512: whole sectors in
 * 184-sector slots (the VM's dd loop, as SHELL_PLAN computes them).
 */
export function slotWrite(i, size, align, stripe = 0) {
  // Every fourth asynctx write is one whole aligned stripe (a full-stripe write: an entry without
  // partial parity) — write 26 among them, the one in flight when ppl-fwd-kill kills after 25 acks.
  if (align === 1 && stripe > 0 && i % 4 === 2) return { at: ((i * 5) % Math.floor(size / stripe)) * stripe, len: stripe, seed: 1000 + i };
  if (align === 1) {
    const slot = 90 * 1024;
    const k = (i * 7) % Math.floor(size / slot);
    return { at: k * slot + ((i * 37) % 509), len: slot - 600 - ((i * 13) % 800), seed: 1000 + i };
  }
  const slot = 184;
  const k = (i * 7) % Math.floor(size / 512 / slot);
  return { at: (k * slot + ((i * 3) % 40)) * 512, len: (slot - 48 - ((i * 5) % 60)) * 512, seed: 0 };
}

/**
 * Write `i` of the bitmap crash cases: unaligned pieces of consecutive 90 KiB
 * slots from `start`, so that the writes dirty a few bitmap chunks only.
 * `align` 1: bytes (asynctx's writer); 512: whole sectors in 184-sector slots
 * (the VM's dd loop, as SHELL_REGION in bitmap_crash.mjs computes them).
 */
export function regionWrite(i, start, align) {
  if (align === 1) return { at: start + i * 90 * 1024 + ((i * 37) % 509), len: 90 * 1024 - 600 - ((i * 13) % 800), seed: 1000 + i };
  return { at: start + (i * 184 + ((i * 3) % 40)) * 512, len: (184 - 48 - ((i * 5) % 60)) * 512, seed: 0 };
}
