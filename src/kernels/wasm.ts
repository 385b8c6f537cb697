/**
 * The WebAssembly SIMD kernel set ("wasm-simd"): the KernelSet interface over
 * the kernel module's ABI (wasm_module.ts). Thin wrappers: each op names its
 * blocks and their roles, and one runner maps them into the module's memory.
 *
 * Where the bytes are decides how an op runs:
 * - every block in the arena: in place, pointer = byteOffset, no copy;
 * - no block in the arena: through a private (non-shared) memory of this
 *   thread, copied in and out — JS copies into a SharedArrayBuffer run at a
 *   quarter of memcpy speed on V8, copies into a plain one do not;
 * - a mix: through this thread's scratch region of the arena, copying only
 *   the blocks outside it.
 * Bounced ops run in chunks (every kernel works byte position by byte
 * position, so chunking changes nothing but the cache footprint). A module
 * instance, its scratch layout and the private instance are in wasm_target.ts.
 */
import { raid6DataPCoefficient, raid6TwoDataCoefficients } from '../gf/gf256.js';
import { InvalidArgumentError } from '../errors.js';
import { arena } from '../mem/arena.js';
import { readArenaHeader, type Region } from '../mem/layout.js';
import { scalarKernels } from './scalar.js';
import type { Block, KernelOp, KernelSet, Slot } from './types.js';
import { instantiateKernels, simdSupported, type KernelBuild } from './wasm_module.js';
import { WASM_VARIANTS } from './wasm_variants.js';
import { MAX_PTRS, privateTarget, Target } from './wasm_target.js';

export { MIN_SCRATCH_BYTES } from './wasm_target.js';

/** Bounced chunks stay small enough that all of an op's chunks sit in L2 between copy and kernel. */
const CHUNK_CAP = 32 * 1024;

const IN = 1;
const OUT = 2;
const INOUT = IN | OUT;

/** One chunk of an op: the target, the address of each block (0 for null), the chunk length. */
type Body = (t: Target, addr: readonly number[], len: number) => boolean;

class WasmKernels implements KernelSet {
  private readonly variants = new Map<string, WasmKernels>();
  private privTarget: Target | null = null;

  constructor(
    readonly name: string,
    private readonly shared: Target,
    /** Makes the private-memory target: only ops on blocks outside the arena need it (a second module instance, 2 MiB). */
    private readonly makePriv: () => Target,
    private readonly buffer: ArrayBufferLike,
    private readonly dataOffset: number,
    readonly variantOps?: readonly KernelOp[],
  ) {}

  /** The variant "<this name>/<variant>" of WASM_VARIANTS (made once), or null; a variant has none of its own. */
  variant(name: string): KernelSet | null {
    if (this.variantOps !== undefined || !name.startsWith(`${this.name}/`)) return null;
    let set = this.variants.get(name);
    if (set === undefined) {
      const v = WASM_VARIANTS.find((x) => `${this.name}/${x.name}` === name);
      if (v === undefined) return null;
      set = new WasmKernels(name, this.shared.variant(v), () => this.priv.variant(v), this.buffer, this.dataOffset, v.ops);
      this.variants.set(name, set);
    }
    return set;
  }

  private get priv(): Target {
    this.privTarget ??= this.makePriv();
    return this.privTarget;
  }

  private inPlace(b: Block): boolean {
    return b.buffer === this.buffer && b.byteOffset >= this.dataOffset;
  }

  /**
   * Runs `body` over all `len` bytes of `blocks` (null = absent), copying in
   * the non-resident blocks with role IN and out those with role OUT.
   * Stops early when body returns false.
   */
  private run(blocks: readonly Slot[], roles: readonly number[], len: number, body: Body): void {
    let present = 0;
    let resident = 0;
    for (const b of blocks) {
      if (b === null) continue;
      if (b.length !== len) throw new InvalidArgumentError(`kernel blocks must all be ${len} bytes, got one of ${b.length}`);
      present++;
      if (this.inPlace(b)) resident++;
    }
    if (len === 0) return;
    const addr = new Array<number>(blocks.length).fill(0);
    if (resident === present) {
      for (let i = 0; i < blocks.length; i++) addr[i] = blocks[i]?.byteOffset ?? 0;
      body(this.shared, addr, len);
      return;
    }
    const t = resident === 0 ? this.priv : this.shared;
    const bounced = present - resident;
    // Slots one cache line apart modulo 4 KiB, so bounced blocks do not alias each other.
    const chunk = Math.max(64, Math.min(CHUNK_CAP, Math.floor(t.bounceBytes / bounced / 64) * 64 - 64));
    const slot = new Array<number>(blocks.length).fill(0);
    for (let i = 0, k = 0; i < blocks.length; i++) {
      const b = blocks[i];
      if (b !== null && !this.inPlace(b)) slot[i] = t.bounce + k++ * (chunk + 64);
    }
    for (let o = 0; o < len; o += chunk) {
      const n = Math.min(chunk, len - o);
      for (let i = 0; i < blocks.length; i++) {
        const b = blocks[i];
        if (b === null) addr[i] = 0;
        else if (slot[i] === 0) addr[i] = b.byteOffset + o;
        else {
          addr[i] = slot[i];
          if (roles[i] & IN) t.u8.set(b.subarray(o, o + n), slot[i]);
        }
      }
      const more = body(t, addr, n);
      for (let i = 0; i < blocks.length; i++) {
        const b = blocks[i];
        if (b !== null && slot[i] !== 0 && roles[i] & OUT) b.set(t.u8.subarray(slot[i], slot[i] + n), o);
      }
      if (!more) return;
    }
  }

  /** A block the kernels can use in place: absent, or resident and `len` bytes long. */
  private fits(b: Block | null, len: number): boolean {
    return b === null || (b.length === len && this.inPlace(b));
  }

  /**
   * The fast path's pointer list: writes the offsets of slots lo..hi (null = 0)
   * into the shared pointer list, or returns false when one of them does not
   * fit in place (then the op takes the general path, which bounces or throws).
   */
  private list(slots: readonly Slot[], len: number, lo = 0, hi = slots.length - 1): boolean {
    const u32 = this.shared.u32;
    const base = this.shared.ptrs >>> 2;
    for (let i = lo; i <= hi; i++) {
      const s = slots[i];
      if (!this.fits(s, len)) return false;
      u32[base + i] = s === null ? 0 : s.byteOffset;
    }
    return true;
  }

  memcpy(dest: Block, src: Block): void {
    if (dest.length !== src.length) throw new InvalidArgumentError('memcpy: dest and src lengths differ');
    // Inside the arena the module's memory.copy is a plain memmove; any JS copy touching a
    // SharedArrayBuffer is a relaxed-atomic loop, and plain-to-plain is already memmove.
    if (this.inPlace(dest) && this.inPlace(src)) this.shared.k.memcpy(dest.byteOffset, src.byteOffset, dest.length);
    else dest.set(src);
  }

  memset(dest: Block, value: number): void {
    if (this.inPlace(dest)) this.shared.k.memset(dest.byteOffset, value & 0xff, dest.length);
    else dest.fill(value);
  }

  xor(dest: Block, srcs: readonly Block[]): void {
    const len = dest.length;
    const s = this.shared;
    if (srcs.length > MAX_PTRS) return scalarKernels.xor(dest, srcs);
    if (this.fits(dest, len) && this.list(srcs, len)) return s.k.xor(dest.byteOffset, s.ptrs, srcs.length, len);
    this.run([dest, ...srcs], [OUT, ...srcs.map(() => IN)], len, (t, a, n) => {
      t.k.xor(a[0], t.setPtrs(a, 1), srcs.length, n);
      return true;
    });
  }

  xorIsZero(srcs: readonly Block[]): boolean {
    const len = srcs[0].length;
    const s = this.shared;
    if (srcs.length > MAX_PTRS) return scalarKernels.xorIsZero(srcs);
    if (this.list(srcs, len)) return s.k.xor_zero(s.ptrs, srcs.length, len) !== 0;
    let zero = true;
    this.run(srcs, srcs.map(() => IN), len, (t, a, n) => {
      zero = t.k.xor_zero(t.setPtrs(a, 0), srcs.length, n) !== 0;
      return zero;
    });
    return zero;
  }

  genSyndrome(data: readonly Slot[], p: Block | null, q: Block | null): void {
    const len = (p ?? q)?.length ?? 0;
    const s = this.shared;
    if (data.length > MAX_PTRS) return scalarKernels.genSyndrome(data, p, q);
    if (this.fits(p, len) && this.fits(q, len) && this.list(data, len)) {
      return s.k.gen_syndrome(s.ptrs, data.length, p?.byteOffset ?? 0, q?.byteOffset ?? 0, s.tmp, len);
    }
    this.run([p, q, ...data], [OUT, OUT, ...data.map(() => IN)], len, (t, a, n) => {
      t.k.gen_syndrome(t.setPtrs(a, 2), data.length, a[0], a[1], t.tmp, n);
      return true;
    });
  }

  xorSyndrome(data: readonly Slot[], p: Block | null, q: Block | null, start: number, stop: number): void {
    const len = (p ?? q)?.length ?? 0;
    const s = this.shared;
    if (stop < start) return;
    if (data.length > MAX_PTRS) return scalarKernels.xorSyndrome(data, p, q, start, stop);
    if (this.fits(p, len) && this.fits(q, len) && this.list(data, len, start, stop)) {
      return s.k.xor_syndrome(s.ptrs, start, stop, p?.byteOffset ?? 0, q?.byteOffset ?? 0, s.tmp, len);
    }
    // Slots outside start..stop are not read: pass them as null so they are not copied in.
    const used = data.map((d, i) => (i >= start && i <= stop ? d : null));
    this.run([p, q, ...used], [INOUT, INOUT, ...data.map(() => IN)], len, (t, a, n) => {
      t.k.xor_syndrome(t.setPtrs(a, 2), start, stop, a[0], a[1], t.tmp, n);
      return true;
    });
  }

  pqCheck(data: readonly Slot[], p: Block | null, q: Block | null): number {
    const len = (p ?? q)?.length ?? 0;
    const s = this.shared;
    if (data.length > MAX_PTRS) return scalarKernels.pqCheck(data, p, q);
    if (this.fits(p, len) && this.fits(q, len) && this.list(data, len)) {
      return s.k.pq_check(s.ptrs, data.length, p?.byteOffset ?? 0, q?.byteOffset ?? 0, s.tmp, len);
    }
    const want = (p !== null ? 1 : 0) | (q !== null ? 2 : 0);
    let bad = 0;
    this.run([p, q, ...data], data.map(() => IN).concat(IN, IN), len, (t, a, n) => {
      bad |= t.k.pq_check(t.setPtrs(a, 2), data.length, a[0], a[1], t.tmp, n);
      return bad !== want;
    });
    return bad;
  }

  mulConst(dest: Block, src: Block, c: number): void {
    const len = dest.length;
    const s = this.shared;
    if (this.fits(dest, len) && this.fits(src, len)) return s.k.mul_const(dest.byteOffset, src.byteOffset, s.table(c), len);
    this.run([dest, src], [OUT, IN], len, (t, a, n) => {
      t.k.mul_const(a[0], a[1], t.table(c), n);
      return true;
    });
  }

  mulAcc(dest: Block, src: Block, c: number): void {
    const len = dest.length;
    const s = this.shared;
    if (this.fits(dest, len) && this.fits(src, len)) return s.k.mul_acc(dest.byteOffset, src.byteOffset, s.table(c), len);
    this.run([dest, src], [INOUT, IN], len, (t, a, n) => {
      t.k.mul_acc(a[0], a[1], t.table(c), n);
      return true;
    });
  }

  recov2Data(data: readonly Slot[], p: Block, q: Block, faila: number, failb: number): void {
    const len = p.length;
    const s = this.shared;
    if (data.length > MAX_PTRS) return scalarKernels.recov2Data(data, p, q, faila, failb);
    const fa = Math.min(faila, failb);
    const fb = Math.max(faila, failb);
    const { pcoef, qcoef } = raid6TwoDataCoefficients(fa, fb);
    const da = data[fa];
    const db = data[fb];
    // The failed slots are outputs and null in the pointer list, so the kernel's P/Q are Pxy/Qxy.
    if (da !== null && db !== null && this.fits(p, len) && this.fits(q, len) && this.list(data, len)) {
      s.u32[(s.ptrs >>> 2) + fa] = 0;
      s.u32[(s.ptrs >>> 2) + fb] = 0;
      return s.k.recov_2data(s.ptrs, data.length, p.byteOffset, q.byteOffset, da.byteOffset, db.byteOffset, s.table(pcoef), s.table(qcoef), s.tmp, len);
    }
    const rest = data.map((d, i) => (i === fa || i === fb ? null : d));
    const roles = [OUT, OUT, IN, IN, ...rest.map(() => IN)];
    this.run([da, db, p, q, ...rest], roles, len, (t, a, n) => {
      t.k.recov_2data(t.setPtrs(a, 4), data.length, a[2], a[3], a[0], a[1], t.table(pcoef), t.table(qcoef), t.tmp, n);
      return true;
    });
  }

  recovDataP(data: readonly Slot[], p: Block, q: Block, faila: number): void {
    const len = p.length;
    const s = this.shared;
    if (data.length > MAX_PTRS) return scalarKernels.recovDataP(data, p, q, faila);
    const coef = raid6DataPCoefficient(faila);
    const da = data[faila];
    if (da !== null && this.fits(p, len) && this.fits(q, len) && this.list(data, len)) {
      s.u32[(s.ptrs >>> 2) + faila] = 0;
      return s.k.recov_datap(s.ptrs, data.length, p.byteOffset, q.byteOffset, da.byteOffset, s.table(coef), s.tmp, len);
    }
    const rest = data.map((d, i) => (i === faila ? null : d));
    const roles = [OUT, OUT, IN, ...rest.map(() => IN)];
    this.run([da, p, q, ...rest], roles, len, (t, a, n) => {
      t.k.recov_datap(t.setPtrs(a, 3), data.length, a[1], a[2], a[0], t.table(coef), t.tmp, n);
      return true;
    });
  }

  isZero(buf: Block): boolean {
    if (this.inPlace(buf)) return this.shared.k.is_zero(buf.byteOffset, buf.length) !== 0;
    let zero = true;
    this.run([buf], [IN], buf.length, (t, a, n) => {
      zero = t.k.is_zero(a[0], n) !== 0;
      return zero;
    });
    return zero;
  }

  equal(a: Block, b: Block): boolean {
    if (a.length !== b.length) return false;
    if (this.inPlace(a) && this.inPlace(b)) return this.shared.k.equal(a.byteOffset, b.byteOffset, a.length) !== 0;
    let same = true;
    this.run([a, b], [IN, IN], a.length, (t, x, n) => {
      same = t.k.equal(x[0], x[1], n) !== 0;
      return same;
    });
    return same;
  }
}

/**
 * A wasm-simd KernelSet on an arena memory, for any thread: the main thread's
 * default set uses the arena's own scratch region; a worker passes a scratch
 * block of its own (e.g. `allocBlock(1 << 20)` made by the main thread) so
 * threads never share pointer lists or bounce buffers.
 * @param memory the arena's shared memory (its header gives the tables and the block region)
 * @param scratch a region of that memory only this kernel set uses, ≥ MIN_SCRATCH_BYTES
 * @throws ArenaConfigError when memory is not an arena; OutOfRangeError for a bad scratch region.
 */
export function createWasmKernelSet(memory: WebAssembly.Memory, scratch: Region, build: KernelBuild = 'release'): KernelSet {
  const header = readArenaHeader(memory.buffer);
  const shared = new Target(instantiateKernels(memory, build), memory, scratch, header.tablesOffset);
  // The private instance waits for the first op on blocks outside the arena: most processes never make one.
  const makePriv = (): Target => privateTarget(build);
  return new WasmKernels(build === 'debug' ? 'wasm-simd-debug' : 'wasm-simd', shared, makePriv, memory.buffer, header.dataOffset);
}

const cache = new Map<KernelBuild, KernelSet | null>();
let unavailable: string | null = null;

/**
 * This thread's wasm-simd kernel set on the default arena, or null where it
 * cannot run (no WebAssembly SIMD, the arena cannot be created, the module
 * is not built: wasmKernelsError() says which). Never throws.
 */
export function wasmKernels(build: KernelBuild = 'release'): KernelSet | null {
  let set = cache.get(build);
  if (set === undefined) {
    try {
      if (!simdSupported()) throw new Error('this runtime has no WebAssembly SIMD');
      set = createWasmKernelSet(arena().memory, arena().scratch, build);
    } catch (err) {
      unavailable = (err as Error).message;
      set = null;
    }
    cache.set(build, set);
  }
  return set;
}

/**
 * The variants of this thread's wasm-simd set (WASM_VARIANTS, in that order),
 * candidates of the start-up selection beside it; empty where it cannot run.
 */
export function wasmKernelVariants(build: KernelBuild = 'release'): KernelSet[] {
  const base = wasmKernels(build);
  if (base === null) return [];
  return WASM_VARIANTS.map((v) => base.variant?.(`${base.name}/${v.name}`)).filter((k): k is KernelSet => k !== null && k !== undefined);
}

/** Why wasmKernels() returned null, or null when it has not failed. */
export function wasmKernelsError(): string | null {
  return unavailable;
}
