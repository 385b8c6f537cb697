/**
 * Argument checks shared by the operations. Each throws a typed usage error
 * naming the function, the argument and the rule, before anything is written.
 */
import { InvalidArgumentError, OutOfRangeError } from '../errors.js';

/** An operation's offset argument: one for every block, or one per block. */
export type Offsets = number | readonly number[];

export function checkLength(fn: string, len: unknown): number {
  if (typeof len !== 'number' || !Number.isSafeInteger(len) || len < 1) {
    throw new InvalidArgumentError(`${fn}: len must be a positive integer, got ${describe(len)}`);
  }
  return len;
}

/**
 * Checks `offset` (one number, or one per block) and returns it: a number stands for every
 * block (read block i's with `offsetAt`), so the common case allocates nothing.
 */
export function checkOffsets(fn: string, offset: unknown, count: number, what: string): number | readonly number[] {
  if (typeof offset === 'number') return checkOffset(fn, 'offset', offset);
  return expandOffsets(fn, offset, count, what);
}

export function offsetAt(offsets: number | readonly number[], i: number): number {
  return typeof offsets === 'number' ? offsets : offsets[i]!;
}

/** Expands `offset` to one offset per block, checking each. */
export function expandOffsets(fn: string, offset: unknown, count: number, what: string): number[] {
  if (typeof offset === 'number') {
    checkOffset(fn, 'offset', offset);
    return new Array<number>(count).fill(offset);
  }
  if (!Array.isArray(offset)) throw new InvalidArgumentError(`${fn}: offset must be a number or an array of ${count} numbers (${what}), got ${describe(offset)}`);
  if (offset.length !== count) throw new InvalidArgumentError(`${fn}: offset array needs ${count} entries (${what}), got ${offset.length}`);
  // An index loop, not forEach: forEach skips holes, and a hole would read as undefined later.
  for (let i = 0; i < count; i++) checkOffset(fn, `offset[${i}]`, offset[i]);
  return offset.slice() as number[];
}

export function checkOffset(fn: string, name: string, offset: unknown): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidArgumentError(`${fn}: ${name} must be a non-negative integer, got ${describe(offset)}`);
  }
  return offset;
}

/**
 * Names block i of an operation's n in messages. A plain function, called only when a
 * message needs it: a name built per block, or a closure made per block, would cost
 * every call.
 */
export type Namer = (i: number, n: number) => string;

/**
 * Checks that `buf` is a Uint8Array holding [offset, offset + len) and returns that view
 * (the buffer itself when it is exactly that range: no view is made on the fast path).
 */
export function view(fn: string, name: string, buf: unknown, offset: number, len: number): Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new InvalidArgumentError(`${fn}: ${name} must be a Uint8Array (or Buffer), got ${describe(buf)}`);
  if (offset + len > buf.length) {
    throw new OutOfRangeError(`${fn}: ${name} holds ${buf.length} bytes; offset ${offset} + len ${len} reaches past its end`);
  }
  return offset === 0 && len === buf.length ? buf : buf.subarray(offset, offset + len);
}

/** `view` for block i of n, where `null` passes through (a skipped or zero block). */
export function slotView(fn: string, name: Namer, n: number, i: number, buf: unknown, offset: number, len: number): Uint8Array | null {
  if (buf === null) return null;
  // The checks of `view`, which is called (and throws, naming the block) only when one fails.
  if (!(buf instanceof Uint8Array) || offset + len > buf.length) return view(fn, name(i, n), buf, offset, len);
  return offset === 0 && len === buf.length ? buf : buf.subarray(offset, offset + len);
}

export function checkArray(fn: string, name: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${fn}: ${name} must be an array, got ${describe(value)}`);
  // map/forEach skip holes, so a sparse array would lose a block silently: refuse holes and
  // undefined entries here (null is a documented "no block" and passes).
  for (let i = 0; i < value.length; i++) {
    if (value[i] === undefined) throw new InvalidArgumentError(`${fn}: ${name}[${i}] is ${i in value ? 'undefined' : 'a hole'}; pass a Uint8Array or null`);
  }
  return value;
}

/*
 * The operations' own overlap checks work on numbers. On Node 20's V8, `byteOffset` and
 * `buffer` are slow accessors (about 10 and 30 ns a read, against 1 for `length`), so each
 * block's start is read once per call, ranges are compared as numbers, and `buffer` is read
 * only for a pair whose ranges intersect — never for disjoint arena blocks. Every view of
 * one operation is `len` bytes long, so two intersect when their starts differ by less than
 * `len`, and are the very same bytes when the starts are equal (in one buffer).
 */

/** Reused: filled and read within one check, which calls no user code in between. */
let startsScratch = new Float64Array(256);

/** The byteOffset of each of `views` (NaN for null, which then intersects nothing), read once. */
export function startsOf(views: ReadonlyArray<Uint8Array | null>): Float64Array {
  const n = views.length;
  if (startsScratch.length < n) startsScratch = new Float64Array(Math.max(n, 2 * startsScratch.length));
  const at = startsScratch;
  for (let i = 0; i < n; i++) {
    const v = views[i];
    at[i] = v === null ? NaN : v!.byteOffset;
  }
  return at;
}

/**
 * Index of the first of views[0..end) (other than `skip`; null ones pass) sharing a byte with
 * `out`, which starts at `outStart`; -1 when none does. `at` holds the views' starts (startsOf).
 * With `sameAllowed`, a view that is the very same bytes as `out` passes (an in-place update).
 */
export function firstOverlap(
  out: Uint8Array,
  outStart: number,
  views: ReadonlyArray<Uint8Array | null>,
  at: Float64Array,
  len: number,
  sameAllowed: boolean,
  skip: number,
  end = views.length,
): number {
  for (let j = 0; j < end; j++) {
    const d = at[j] - outStart;
    // Also false for NaN (a null view).
    if (!(d < len && d > -len) || j === skip) continue;
    if (views[j]!.buffer !== out.buffer || (sameAllowed && d === 0)) continue;
    return j;
  }
  return -1;
}

/** Whether two views of `len` bytes each share a byte. */
export function overlapsAt(a: Uint8Array, b: Uint8Array, len: number): boolean {
  const d = b.byteOffset - a.byteOffset;
  return d < len && d > -len && a.buffer === b.buffer;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `a ${v.constructor.name} of ${v.length} bytes`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `the bigint ${v}n`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}`;
  return typeof v;
}
