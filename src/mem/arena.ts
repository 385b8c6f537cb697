/**
 * The shared arena: one shared `WebAssembly.Memory` of fixed size, on which
 * the WebAssembly kernels run in place and which worker threads can share, and
 * a block allocator over it.
 *
 * Blocks are 64-byte aligned (a cache line, four v128 lanes) and *staggered*:
 * successive blocks start at different offsets modulo 4 KiB. Blocks that all
 * share an offset modulo 4 KiB make multi-source kernels collide in the same
 * L1 sets and trip the CPU's 4K-aliasing check between loads and stores
 * (ISA-L's xor loses ~40 % at 16 sources that way; our xor of 16 × 64 KiB
 * runs at ~17 GB/s on such blocks and ~55 GB/s on staggered ones, 2-core EPYC).
 */
import { gfNibbleTableAll } from '../gf/gf256.js';
import { InvalidArgumentError } from '../errors.js';
import { ArenaConfigError, ArenaExhaustedError, ArenaFreeError } from './errors.js';
import { DATA_OFFSET, TABLES_OFFSET, writeArenaHeader, type ArenaHeader, type Region } from './layout.js';

export const BLOCK_ALIGN = 64;
const PAGE = 4096;
/**
 * Stagger step in cache lines: block k wants to start on line k mod 64 of a
 * 4 KiB page, so 64 successive blocks start on 64 distinct lines, and
 * back-to-back blocks whose sizes are multiples of 4 KiB lose one line between them.
 */
const STAGGER_LINES = 1;
const WASM_PAGE = 65536;
export const DEFAULT_ARENA_MB = 512;
const MIN_ARENA_MB = 4;
const MAX_ARENA_MB = 4096;

/** A free range [start, end) of the data region. */
interface Range {
  start: number;
  end: number;
}

export interface ArenaUsage {
  readonly bytes: number;
  readonly dataBytes: number;
  readonly usedBytes: number;
  readonly blocks: number;
  readonly largestFree: number;
}

export class Arena {
  /** The memory itself: post it to a worker and call `createWasmKernelSet` there to share the kernels. */
  readonly memory: WebAssembly.Memory;
  readonly buffer: SharedArrayBuffer;
  readonly header: ArenaHeader;
  /** Sorted, coalesced free ranges of the data region. */
  private readonly free: Range[];
  /** Live blocks: start offset → [reserved start, reserved end, length]. */
  private readonly live = new Map<number, [number, number, number]>();
  private staggerIndex = 0;
  private used = 0;

  constructor(megabytes: number) {
    if (!Number.isInteger(megabytes) || megabytes < MIN_ARENA_MB || megabytes > MAX_ARENA_MB) {
      throw new ArenaConfigError(`arena size must be an integer from ${MIN_ARENA_MB} to ${MAX_ARENA_MB} MiB, got ${megabytes}`);
    }
    const pages = (megabytes * 1024 * 1024) / WASM_PAGE;
    try {
      // initial = maximum: the memory never grows, so views taken on any thread stay valid.
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch (err) {
      throw new ArenaConfigError(`cannot create a ${megabytes} MiB shared arena: ${(err as Error).message}`);
    }
    this.buffer = this.memory.buffer as SharedArrayBuffer;
    new Uint8Array(this.buffer, TABLES_OFFSET, gfNibbleTableAll().length).set(gfNibbleTableAll());
    this.header = writeArenaHeader(this.buffer);
    this.free = [{ start: DATA_OFFSET, end: this.buffer.byteLength }];
  }

  get bytes(): number {
    return this.buffer.byteLength;
  }

  /** The scratch region the owning thread's kernels bounce through (workers get their own blocks). */
  get scratch(): Region {
    return this.header.scratch;
  }

  /**
   * A new block of `len` bytes in the arena, zero-filled on first use only
   * (a reused block holds what its last owner left).
   * @throws InvalidArgumentError when len is not a non-negative integer.
   * @throws ArenaExhaustedError when no free range can hold it.
   */
  allocBlock(len: number): Uint8Array {
    if (typeof len !== 'number' || !Number.isSafeInteger(len) || len < 0) {
      throw new InvalidArgumentError(`allocBlock: len must be a non-negative integer, got ${typeof len === 'number' ? len : typeof len}`);
    }
    const need = Math.max(BLOCK_ALIGN, Math.ceil(len / BLOCK_ALIGN) * BLOCK_ALIGN);
    const want = ((this.staggerIndex * STAGGER_LINES) % (PAGE / BLOCK_ALIGN)) * BLOCK_ALIGN;
    let at = -1;
    let index = -1;
    for (let i = 0; i < this.free.length; i++) {
      const r = this.free[i];
      const start = r.start + ((want - (r.start % PAGE) + PAGE) % PAGE);
      if (start + need <= r.end) {
        at = start;
        index = i;
        break;
      }
    }
    if (at < 0) {
      // No range fits the staggered start: take the first that fits at all, unstaggered.
      index = this.free.findIndex((r) => r.end - r.start >= need);
      if (index < 0) throw this.exhausted(len);
      at = this.free[index].start;
    }
    // The gap before a staggered block (< 4 KiB) is reserved with it and freed with it, so
    // gaps never litter the free list (which stays short and quick to search).
    const r = this.free[index];
    if (at + need < r.end) this.free[index] = { start: at + need, end: r.end };
    else this.free.splice(index, 1);
    this.live.set(at, [r.start, at + need, len]);
    this.used += at + need - r.start;
    this.staggerIndex++;
    return new Uint8Array(this.buffer, at, len);
  }

  /**
   * Returns a block to the arena. The view must be exactly one that
   * allocBlock returned (same offset and length) and not yet freed.
   * @throws ArenaFreeError otherwise; InvalidArgumentError when `block` is not a Uint8Array at all.
   */
  freeBlock(block: Uint8Array): void {
    if (!(block instanceof Uint8Array)) {
      throw new InvalidArgumentError(`freeBlock: block must be a Uint8Array returned by allocBlock, got ${block === null ? 'null' : typeof block}`);
    }
    const entry = block.buffer === this.buffer ? this.live.get(block.byteOffset) : undefined;
    if (entry === undefined || entry[2] !== block.length) {
      throw new ArenaFreeError(
        block.buffer === this.buffer
          ? `freeBlock: no live block at offset ${block.byteOffset} with length ${block.length} (double free or a subarray?)`
          : 'freeBlock: the view is not in this arena',
      );
    }
    this.live.delete(block.byteOffset);
    this.used -= entry[1] - entry[0];
    this.insertFree(entry[0], entry[1]);
  }

  /** True when `view` lies in this arena's block region (so kernels can use it in place). */
  isArenaBlock(view: ArrayBufferView): boolean {
    return view.buffer === this.buffer && view.byteOffset >= DATA_OFFSET;
  }

  usage(): ArenaUsage {
    let largestFree = 0;
    for (const r of this.free) largestFree = Math.max(largestFree, r.end - r.start);
    return {
      bytes: this.bytes,
      dataBytes: this.bytes - DATA_OFFSET,
      usedBytes: this.used,
      blocks: this.live.size,
      largestFree,
    };
  }

  private insertFree(start: number, end: number): void {
    // Binary search for the first range after `start`, then merge with neighbours.
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.free[mid].start < start) lo = mid + 1;
      else hi = mid;
    }
    const prev = lo > 0 ? this.free[lo - 1] : undefined;
    const next = lo < this.free.length ? this.free[lo] : undefined;
    if (prev !== undefined && prev.end === start) {
      prev.end = end;
      if (next !== undefined && next.start === end) {
        prev.end = next.end;
        this.free.splice(lo, 1);
      }
    } else if (next !== undefined && next.start === end) {
      next.start = start;
    } else {
      this.free.splice(lo, 0, { start, end });
    }
  }

  private exhausted(len: number): ArenaExhaustedError {
    const u = this.usage();
    const mb = Math.round(this.bytes / 1048576);
    return new ArenaExhaustedError(
      `arena exhausted: cannot allocate ${len} bytes (${u.blocks} blocks hold ${u.usedBytes} of ${u.dataBytes} bytes, ` +
        `largest free range ${u.largestFree}); free blocks or raise ASYNCTX_ARENA_MB (now ${mb})`,
    );
  }
}

/** The arena size from ASYNCTX_ARENA_MB, or the default. @throws ArenaConfigError on a malformed value. */
export function arenaMegabytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ASYNCTX_ARENA_MB;
  if (raw === undefined || raw === '') return DEFAULT_ARENA_MB;
  const mb = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || mb < MIN_ARENA_MB || mb > MAX_ARENA_MB) {
    throw new ArenaConfigError(`ASYNCTX_ARENA_MB must be an integer from ${MIN_ARENA_MB} to ${MAX_ARENA_MB}, got "${raw}"`);
  }
  return mb;
}

/** Creates a separate arena (tests, or a client that wants its own). The default one is `arena()`. */
export function createArena(options: { megabytes?: number } = {}): Arena {
  return new Arena(options.megabytes ?? arenaMegabytesFromEnv());
}

let defaultArena: Arena | undefined;

/**
 * This thread's default arena, created on first use with ASYNCTX_ARENA_MB
 * (default 512) MiB. @throws ArenaConfigError when it cannot be created.
 */
export function arena(): Arena {
  defaultArena ??= createArena();
  return defaultArena;
}

/** The default arena's memory, to post to worker threads. */
export function arenaMemory(): WebAssembly.Memory {
  return arena().memory;
}

/** A block of `len` bytes in the default arena; see Arena.allocBlock. */
export function allocBlock(len: number): Uint8Array {
  return arena().allocBlock(len);
}

/** Returns a block to the default arena; see Arena.freeBlock. */
export function freeBlock(block: Uint8Array): void {
  arena().freeBlock(block);
}

/** True when `view` lies in the default arena's block region; false (without creating it) before first use. */
export function isArenaBlock(view: ArrayBufferView): boolean {
  return defaultArena !== undefined && defaultArena.isArenaBlock(view);
}
