/**
 * The kernel ABI every implementation (scalar reference, WebAssembly SIMD)
 * provides. Arguments are views of exactly the bytes to process: every block of
 * one call has the same length, which is the operation's length. Offsets are
 * applied by the caller (`subarray`), so kernels never see an offset.
 *
 * Aliasing: an output may be the very same view (buffer and offset) as an
 * input where a kernel says so; any other overlap is the caller's to refuse.
 */
export type Block = Uint8Array;
/** A data slot: `null` is a block of zeros that keeps its slot index. */
export type Slot = Uint8Array | null;

/** The operations of a KernelSet. */
export type KernelOp = Exclude<keyof KernelSet, 'name' | 'variantOps' | 'variant'>;

export interface KernelSet {
  /** Short name, shown by `kernels()` and the CLI ("scalar", "wasm-simd", "wasm-simd/xor128", …). */
  readonly name: string;
  /**
   * For a variant of another set (the same kernels but a few, named
   * "base/variant"): the ops where it differs, the only ones the start-up
   * selection measures it for. Absent: a candidate for every op.
   */
  readonly variantOps?: readonly KernelOp[];
  /**
   * This set's variant called `name` ("wasm-simd/xor128"), or null when it
   * has none of that name: a thread that built only the base set (a worker)
   * composes a choice that names its variants.
   */
  variant?(name: string): KernelSet | null;
  /** dest = src (no overlap). */
  memcpy(dest: Block, src: Block): void;
  /** Every byte of dest = value (0..255). */
  memset(dest: Block, value: number): void;
  /** dest = ⊕ srcs; dest may be one of srcs (dest ^= others). At least one source. */
  xor(dest: Block, srcs: readonly Block[]): void;
  /** True when ⊕ srcs is all zeros. Writes nothing. */
  xorIsZero(srcs: readonly Block[]): boolean;
  /**
   * P = ⊕ D_i and Q = Σ {02}^i·D_i over the data slots (i = slot index, null slots are zero).
   * `p` or `q` null skips that output.
   */
  genSyndrome(data: readonly Slot[], p: Block | null, q: Block | null): void;
  /**
   * Read-modify-write: P ^= ⊕ D_i and Q ^= Σ {02}^i·D_i for start ≤ i ≤ stop
   * (null slots skipped). `p` or `q` null skips that output.
   */
  xorSyndrome(data: readonly Slot[], p: Block | null, q: Block | null, start: number, stop: number): void;
  /**
   * Checks P and Q against the data without writing anything; returns the
   * SumCheck bits: 1 when P mismatches, 2 when Q mismatches (null P or Q is not checked).
   */
  pqCheck(data: readonly Slot[], p: Block | null, q: Block | null): number;
  /** dest = c·src in GF(2^8); dest may be src. */
  mulConst(dest: Block, src: Block, c: number): void;
  /** dest ^= c·src in GF(2^8); dest must not be src. */
  mulAcc(dest: Block, src: Block, c: number): void;
  /**
   * Rebuilds data slots faila and failb (faila ≠ failb, both < data.length; their
   * contents on entry are ignored and overwritten) from the other data slots, P and Q.
   */
  recov2Data(data: readonly Slot[], p: Block, q: Block, faila: number, failb: number): void;
  /** Rebuilds data slot faila from the other data slots and Q, then rewrites P. */
  recovDataP(data: readonly Slot[], p: Block, q: Block, faila: number): void;
  /** True when every byte is zero. */
  isZero(buf: Block): boolean;
  /** True when a and b hold the same bytes (same length). */
  equal(a: Block, b: Block): boolean;
}
