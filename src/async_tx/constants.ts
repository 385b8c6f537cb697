/**
 * The consumer's constants — flag bits, result bits and descriptor status —
 * in a module of their own: code that only names them (the RAID client's
 * stripe logic) loads none of the submit path with them, and reaches the
 * status values through the consumer API, not the provider's (DESIGN §2).
 */
/** Descriptor status (enum dma_status): the provider's values, one object for both APIs. */
export { DmaStatus } from '../dmaengine/cookie.js';

/** Consumer flags (enum async_tx_flags). */
export const TxFlags = {
  /** xor: ignore the destination's contents (dest = ⊕ srcs). */
  XorZeroDst: 1,
  /** xor, xor_val: srcs[0] is the destination; skip it as a source. */
  XorDropDst: 2,
  /** Acknowledge the descriptor at once: it will not be a parent. */
  Ack: 4,
  /** Order this descriptor after everything before it on its channel. */
  Fence: 8,
  /** pq: read-modify-write, P ^= ⊕ D_i and Q ^= Σ g^i·D_i. */
  PqXorDst: 16,
} as const;
export type TxFlags = number;

/** Result bits of the validate operations (enum sum_check_flags). */
export const SumCheck = {
  PResult: 1,
  QResult: 2,
} as const;
