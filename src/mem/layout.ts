/**
 * The fixed layout at the start of every arena memory, shared between threads:
 * a worker given only the `WebAssembly.Memory` reads where the multiply tables
 * and the data region are from this header. Versioned; change the version
 * with the layout.
 *
 *   0 .. 4 KiB      header (u32 words, below)
 *   4 .. 12 KiB     GF(2^8) nibble tables: 32 bytes per constant c at tables + 32·c
 *   16 KiB .. 2 MiB the owning thread's kernel scratch (pointer lists, bounce buffers)
 *   2 MiB ..        blocks (allocBlock)
 */
import { ArenaConfigError } from './errors.js';

export const ARENA_MAGIC = 0x41545841; // "ATXA", little-endian
export const ARENA_LAYOUT_VERSION = 1;

export const TABLES_OFFSET = 4096;
export const TABLES_BYTES = 256 * 32;
export const MAIN_SCRATCH_OFFSET = 16 * 1024;
export const DATA_OFFSET = 2 * 1024 * 1024;
export const MAIN_SCRATCH_BYTES = DATA_OFFSET - MAIN_SCRATCH_OFFSET;

/** Header word indices (u32). */
const H_MAGIC = 0;
const H_VERSION = 1;
const H_BYTES = 2;
const H_TABLES = 3;
const H_SCRATCH = 4;
const H_SCRATCH_BYTES = 5;
const H_DATA = 6;

/** A region of the arena memory by byte offset. */
export interface Region {
  readonly offset: number;
  readonly bytes: number;
}

/** What the header says. */
export interface ArenaHeader {
  readonly version: number;
  readonly bytes: number;
  readonly tablesOffset: number;
  readonly scratch: Region;
  readonly dataOffset: number;
}

export function writeArenaHeader(buffer: SharedArrayBuffer): ArenaHeader {
  const h = new Uint32Array(buffer, 0, 16);
  h[H_VERSION] = ARENA_LAYOUT_VERSION;
  h[H_BYTES] = buffer.byteLength === 2 ** 32 ? 0xffffffff : buffer.byteLength;
  h[H_TABLES] = TABLES_OFFSET;
  h[H_SCRATCH] = MAIN_SCRATCH_OFFSET;
  h[H_SCRATCH_BYTES] = MAIN_SCRATCH_BYTES;
  h[H_DATA] = DATA_OFFSET;
  // Magic last: a reader on another thread that sees it sees a whole header
  // (the memory is handed over by postMessage, which orders these writes anyway).
  Atomics.store(h, H_MAGIC, ARENA_MAGIC);
  return readArenaHeader(buffer);
}

/**
 * Reads the header of an arena memory.
 * @throws ArenaConfigError when the memory is not an asynctx arena of this layout version.
 */
export function readArenaHeader(buffer: ArrayBufferLike): ArenaHeader {
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < DATA_OFFSET) {
    throw new ArenaConfigError('not an asynctx arena: expected a shared memory of at least 2 MiB');
  }
  const h = new Uint32Array(buffer, 0, 16);
  if (Atomics.load(h, H_MAGIC) !== ARENA_MAGIC) throw new ArenaConfigError('not an asynctx arena: no header');
  if (h[H_VERSION] !== ARENA_LAYOUT_VERSION) {
    throw new ArenaConfigError(`arena layout version ${h[H_VERSION]}, this build reads ${ARENA_LAYOUT_VERSION}`);
  }
  return {
    version: h[H_VERSION],
    bytes: buffer.byteLength,
    tablesOffset: h[H_TABLES],
    scratch: { offset: h[H_SCRATCH], bytes: h[H_SCRATCH_BYTES] },
    dataOffset: h[H_DATA],
  };
}
