/**
 * The operations' overlap checks (validate.ts: starts read once, ranges compared as
 * numbers, buffers only for intersecting ranges) against the rule as DESIGN §3 states
 * it, written here the slow, obvious way: an output may not share a byte with any other
 * block (xor: except a source that is the very same bytes as dest; io_read: no two buffers
 * share a byte). Views of two buffers at the same offsets make ranges that intersect as
 * numbers but not in memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { allocBlock, asyncGenSyndrome, asyncIoRead, asyncMemcpy, asyncRaid6DatapRecov, asyncRaid6TwoDataRecov, asyncXor, OverlapError, type IoTarget } from '../../src/index.js';

const SIZE = 192;
const buffers = [new Uint8Array(SIZE), new Uint8Array(SIZE), allocBlock(SIZE)];
const arbView = fc.option(fc.record({ buf: fc.integer({ min: 0, max: 2 }), at: fc.integer({ min: 0, max: 160 }) }), { freq: 8 });
type ViewSpec = { buf: number; at: number } | null;

const make = (v: ViewSpec, len: number): Uint8Array | null => (v === null ? null : buffers[v.buf]!.subarray(v.at, v.at + len));
/** Whether two views share a byte, from first principles. */
const share = (a: ViewSpec, b: ViewSpec, len: number): boolean => a !== null && b !== null && a.buf === b.buf && a.at < b.at + len && b.at < a.at + len;
const same = (a: ViewSpec, b: ViewSpec): boolean => a !== null && b !== null && a.buf === b.buf && a.at === b.at;

/** The message the first refused pair gets, or null when every output is clear. */
function refusal(views: ViewSpec[], outs: number[], len: number, name: (i: number) => string): string | null {
  for (const o of outs) {
    for (let j = 0; j < views.length; j++) if (j !== o && share(views[o]!, views[j]!, len)) return `${name(o)} overlaps ${name(j)}`;
  }
  return null;
}

function expectOutcome(call: () => unknown, want: string | null): void {
  if (want === null) {
    call();
    return;
  }
  assert.throws(call, (err: unknown) => err instanceof OverlapError && err.message.endsWith(want));
}

const pqName = (n: number) => (i: number): string => (i === n - 2 ? `blocks[${i}] (P)` : i === n - 1 ? `blocks[${i}] (Q)` : `blocks[${i}]`);

describe('overlap checks match the rule, pair by pair', () => {
  it('pq and both recoveries: each output against every other block', () => {
    fc.assert(
      fc.property(fc.array(arbView, { minLength: 4, maxLength: 8 }), fc.integer({ min: 1, max: 24 }), fc.nat(), (specs, len, pick) => {
        const n = specs.length;
        const blocks = specs.map((v) => make(v, len));
        const name = pqName(n);
        if (specs[n - 2] !== null || specs[n - 1] !== null) expectOutcome(() => asyncGenSyndrome(blocks, 0, len), refusal(specs, [n - 2, n - 1], len, name));
        const present = specs.flatMap((v, i) => (v !== null && i < n - 2 ? [i] : []));
        if (specs[n - 2] === null || specs[n - 1] === null || present.length === 0) return;
        const a = present[pick % present.length]!;
        expectOutcome(() => asyncRaid6DatapRecov(blocks, a, 0, len), refusal(specs, [a, n - 2], len, name));
        const b = present[(pick >> 3) % present.length]!;
        if (a !== b) expectOutcome(() => asyncRaid6TwoDataRecov(blocks, a, b, 0, len), refusal(specs, [a, b], len, name));
      }),
      { numRuns: 800 },
    );
  });

  it('xor: dest against every source, the very same bytes allowed; memcpy: dest against src', () => {
    fc.assert(
      fc.property(arbView, fc.array(arbView, { minLength: 2, maxLength: 6 }), fc.integer({ min: 1, max: 24 }), (d, specs, len) => {
        const dest = d ?? { buf: 0, at: 0 };
        const j = specs.findIndex((s) => share(dest, s, len) && !same(dest, s));
        const want = j < 0 ? null : `dest overlaps srcs[${j}] (only the very same bytes are allowed)`;
        expectOutcome(() => asyncXor(make(dest, len)!, specs.map((v) => make(v, len)), 0, len), want);
        const src = specs[0] ?? { buf: 1, at: 0 };
        expectOutcome(() => asyncMemcpy(make(dest, len)!, make(src, len)!, 0, 0, len), share(dest, src, len) ? 'dest overlaps src' : null);
      }),
      { numRuns: 800 },
    );
  });

  it('io_read: no two buffers share a byte, the first pair named', () => {
    const target: IoTarget = { name: 't', fd: null, read: (_d, _p, done) => queueMicrotask(() => done(null)), write: (_s, _p, done) => queueMicrotask(() => done(null)) };
    fc.assert(
      fc.property(fc.array(arbView.map((v) => v ?? { buf: 2, at: 0 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 24 }), (specs, len) => {
        let want: string | null = null;
        for (let i = 1; i < specs.length && want === null; i++) {
          const j = specs.slice(0, i).findIndex((s) => share(specs[i]!, s, len));
          if (j >= 0) want = `buffers[${i}] overlaps buffers[${j}]`;
        }
        const n = specs.length;
        expectOutcome(() => asyncIoRead(specs.map((v) => make(v, len)!), new Array(n).fill(target), specs.map((_, i) => i * len), 0, len), want);
      }),
      { numRuns: 500 },
    );
  });
});
