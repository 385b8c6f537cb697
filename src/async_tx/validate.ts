/**
 * Argument checks shared by the operations. Each throws a typed usage error
 * naming the function, the argument and the rule, before anything is written.
 */
import { InvalidArgumentError, OutOfRangeError, OverlapError } from '../errors.js';

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

/** A block's name in messages: a string, or how to make one (built only when a message needs it). */
export type BlockName = string | (() => string);
const nameOf = (n: BlockName): string => (typeof n === 'string' ? n : n());

/**
 * Checks that `buf` is a Uint8Array holding [offset, offset + len) and returns that view
 * (the buffer itself when it is exactly that range: no view is made on the fast path).
 */
export function view(fn: string, name: BlockName, buf: unknown, offset: number, len: number): Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new InvalidArgumentError(`${fn}: ${nameOf(name)} must be a Uint8Array (or Buffer), got ${describe(buf)}`);
  if (offset + len > buf.length) {
    throw new OutOfRangeError(`${fn}: ${nameOf(name)} holds ${buf.length} bytes; offset ${offset} + len ${len} reaches past its end`);
  }
  return offset === 0 && len === buf.length ? buf : buf.subarray(offset, offset + len);
}

/** Like `view`, but `null` passes through (a skipped or zero block). */
export function optionalView(fn: string, name: BlockName, buf: unknown, offset: number, len: number): Uint8Array | null {
  return buf === null ? null : view(fn, name, buf, offset, len);
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

/**
 * Whether two views share any byte. The ranges are compared first: reading
 * `.buffer` costs far more than two additions, and most pairs do not intersect.
 */
export function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length)) return false;
  return a.buffer === b.buffer;
}

/** Whether two views are the same bytes exactly. */
export function identical(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteOffset === b.byteOffset && a.length === b.length && a.buffer === b.buffer;
}

/**
 * Refuses an output that overlaps another block, except an input that is the
 * very same bytes when `sameAllowed` (an in-place update the kernel supports).
 */
export function checkNoOverlap(
  fn: string,
  output: { name: string; view: Uint8Array },
  others: ReadonlyArray<{ name: string; view: Uint8Array | null }>,
  sameAllowed: boolean,
): void {
  for (const o of others) {
    if (o.view === null) continue;
    if (!overlaps(output.view, o.view)) continue;
    if (sameAllowed && identical(output.view, o.view)) continue;
    throw new OverlapError(`${fn}: ${output.name} overlaps ${o.name}${sameAllowed ? ' (only the very same bytes are allowed)' : ''}`);
  }
}

/**
 * checkNoOverlap over a list of views, naming them only for the message: `skip` is the
 * output's own index in `views` (or -1).
 */
export function checkNoOverlapIn(
  fn: string,
  outName: BlockName,
  out: Uint8Array,
  views: ReadonlyArray<Uint8Array | null>,
  viewName: (i: number) => string,
  sameAllowed: boolean,
  skip = -1,
): void {
  for (let i = 0; i < views.length; i++) {
    const v = views[i];
    if (i === skip || v === null || v === undefined || !overlaps(out, v)) continue;
    if (sameAllowed && identical(out, v)) continue;
    throw new OverlapError(`${fn}: ${nameOf(outName)} overlaps ${viewName(i)}${sameAllowed ? ' (only the very same bytes are allowed)' : ''}`);
  }
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
