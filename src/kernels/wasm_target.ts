/**
 * One instance of the kernel module as the wasm-simd kernel set (wasm.ts) drives it: its memory
 * views and the layout of its scratch region — pointer list, the kernels' 4 KiB tmp, bounce area —
 * and the private (non-shared) instance for blocks outside the arena. Kept apart from wasm.ts,
 * which decides per op which instance runs it and what is copied; this is where the bytes go.
 */
import { gfNibbleTableAll } from '../gf/gf256.js';
import { OutOfRangeError } from '../errors.js';
import type { Region } from '../mem/layout.js';
import { instantiateKernels, type KernelBuild, type KernelExports } from './wasm_module.js';
import { variantExports, type WasmVariant } from './wasm_variants.js';

/** Layout of a kernel scratch region: the pointer list, the kernels' 4 KiB tmp, then the bounce area. */
const SCRATCH_PTRS = 0;
/** The longest pointer list (blocks of one op) the scratch region holds; wider ops run scalar. */
export const MAX_PTRS = 1024;
const SCRATCH_TMP = MAX_PTRS * 4;
const SCRATCH_BOUNCE = SCRATCH_TMP + 4096;
/** The smallest scratch region: room for one 64-byte chunk of every block of the widest op. */
export const MIN_SCRATCH_BYTES = SCRATCH_BOUNCE + 128 * (MAX_PTRS + 4);
/** The private instance's memory: its nibble tables, then its scratch region. */
const PRIVATE_TABLES = 4096;
const PRIVATE_SCRATCH = 16384;
const PRIVATE_SCRATCH_BYTES = 2 * 1024 * 1024;

/** One instance of the module with its memory views and scratch layout. */
export class Target {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly ptrs: number;
  readonly tmp: number;
  readonly bounce: number;
  readonly bounceBytes: number;

  constructor(
    readonly k: KernelExports,
    private readonly memory: WebAssembly.Memory,
    private readonly scratch: Region,
    readonly tables: number,
  ) {
    if (scratch.bytes < MIN_SCRATCH_BYTES || scratch.offset % 64 !== 0 || scratch.offset + scratch.bytes > memory.buffer.byteLength) {
      throw new OutOfRangeError(`kernel scratch must be 64-byte aligned, ≥ ${MIN_SCRATCH_BYTES} bytes and inside the memory`);
    }
    this.u8 = new Uint8Array(memory.buffer);
    this.u32 = new Uint32Array(memory.buffer);
    this.ptrs = scratch.offset + SCRATCH_PTRS;
    this.tmp = scratch.offset + SCRATCH_TMP;
    this.bounce = scratch.offset + SCRATCH_BOUNCE;
    this.bounceBytes = scratch.bytes - SCRATCH_BOUNCE;
  }

  /** Writes addr[from..] into the pointer list; returns its offset. */
  setPtrs(addr: readonly number[], from: number): number {
    const base = this.ptrs >>> 2;
    for (let i = from; i < addr.length; i++) this.u32[base + i - from] = addr[i];
    return this.ptrs;
  }

  /** Offset of constant c's nibble tables. */
  table(c: number): number {
    return this.tables + (c & 0xff) * 32;
  }

  /** The same instance, memory and scratch with the exports of variant `v` (the scratch is shared: one op runs at a time per thread). */
  variant(v: WasmVariant): Target {
    return new Target(variantExports(this.k, v), this.memory, this.scratch, this.tables);
  }
}

/**
 * A second instance on a private (non-shared) memory of this thread, with its own nibble tables,
 * for ops whose blocks are all outside the arena (2 MiB; why not the arena's: wasm.ts).
 */
export function privateTarget(build: KernelBuild): Target {
  const pages = Math.ceil((PRIVATE_SCRATCH + PRIVATE_SCRATCH_BYTES) / 65536);
  const privMemory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  new Uint8Array(privMemory.buffer, PRIVATE_TABLES, gfNibbleTableAll().length).set(gfNibbleTableAll());
  return new Target(instantiateKernels(privMemory, build), privMemory, { offset: PRIVATE_SCRATCH, bytes: PRIVATE_SCRATCH_BYTES }, PRIVATE_TABLES);
}
