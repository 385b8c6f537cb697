/**
 * The consumer's flag and result bits, in a module of their own that imports
 * nothing: code that only names them (the RAID client's stripe logic) loads
 * none of the submit path with them.
 */
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
