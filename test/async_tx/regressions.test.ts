/**
 * Regressions found by feeding the API bad input: each test is named after the
 * bug it pins. Every refusal is a typed usage error, thrown before any byte is written.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allocBlock, asyncGenSyndrome, asyncMemcpy, asyncMemset, asyncRaid6DatapRecov, asyncRaid6TwoDataRecov, asyncSyndromeVal,
  asyncTriggerCallback, asyncXor, asyncXorVal, createClient, DmaStatus, freeBlock, InvalidArgumentError,
  TxFlags, UnknownFlagError, type Tx,
} from '../../src/index.js';
import { b, refuses } from './refuses.js';

/** A copy of `a` with a hole at `i`. */
function holed<T>(a: readonly T[], i: number): T[] {
  const c = a.slice();
  delete c[i];
  assert.equal(i in c, false);
  return c;
}

describe('regressions: bad input', () => {
  it('regression: flags >= 2^32 were masked to 32 bits (2^32 read as 0, 2^32+4 as Ack)', () => {
    for (const flags of [2 ** 32, 2 ** 32 + TxFlags.Ack, 2 ** 40 + TxFlags.XorZeroDst, 2 ** 53 - 1, 2 ** 53, 1e300, Infinity, NaN, -1, 0.5, -(2 ** 32)]) {
      refuses(([d, s]) => asyncMemcpy(d, s, 0, 0, 16, { flags }), UnknownFlagError, /asyncMemcpy: .*flag/);
      refuses(([d, s0, s1]) => asyncXor(d, [s0, s1], 0, 16, { flags }), UnknownFlagError, /asyncXor: .*flag/);
      refuses(() => asyncTriggerCallback({ flags }), UnknownFlagError, /asyncTriggerCallback: .*flag/);
    }
    for (const flags of ['4', 4n, {}, true] as unknown[]) {
      refuses(([d]) => asyncMemset(d, 0, 0, 16, { flags: flags as number }), UnknownFlagError, /asyncMemset: flags must be/);
    }
    // The known bits still work.
    const d = b(16, 0);
    const tx = asyncXor(d, [b(16, 1), b(16, 2)], 0, 16, { flags: TxFlags.XorZeroDst | TxFlags.Ack });
    assert.equal(tx.status, DmaStatus.Complete);
    assert.deepEqual(d, b(16, 3));
  });

  it('regression: sparse arrays slipped through validation (holes in srcs, blocks and offsets)', () => {
    const xorCalls: Array<[string, (d: Uint8Array, srcs: Array<Uint8Array | null>, off: number | number[]) => Tx]> = [
      ['asyncXor', (d, s, o) => asyncXor(d, s, o, 16)],
      ['asyncXorVal', (d, s, o) => asyncXorVal(d, s, o, 16)],
    ];
    for (const [fn, call] of xorCalls) {
      for (let i = 0; i < 3; i++) {
        refuses(([d, ...s]) => call(d, holed(s.slice(0, 3), i), 0), InvalidArgumentError, new RegExp(`${fn}: srcs\\[${i}\\] is a hole`));
        refuses(([d, ...s]) => call(d, s.slice(0, 3), holed([0, 0, 0, 0], i + 1)), InvalidArgumentError, new RegExp(`${fn}: offset\\[${i + 1}\\]`));
      }
      refuses(([d, ...s]) => call(d, s.slice(0, 3), holed([0, 0, 0, 0], 0)), InvalidArgumentError, new RegExp(`${fn}: offset\\[0\\]`));
      refuses(([d, s0, s1]) => call(d, [s0, undefined as unknown as Uint8Array, s1], 0), InvalidArgumentError, new RegExp(`${fn}: srcs\\[1\\] is undefined`));
    }
    const pqCalls: Array<[string, (blocks: Array<Uint8Array | null>, off: number | number[]) => Tx]> = [
      ['asyncGenSyndrome', (bl, o) => asyncGenSyndrome(bl, o, 16)],
      ['asyncSyndromeVal', (bl, o) => asyncSyndromeVal(bl, o, 16)],
      ['asyncRaid6DatapRecov', (bl, o) => asyncRaid6DatapRecov(bl, 0, o, 16)],
      ['asyncRaid6TwoDataRecov', (bl, o) => asyncRaid6TwoDataRecov(bl, 0, 1, o, 16)],
    ];
    for (const [fn, call] of pqCalls) {
      for (let i = 0; i < 6; i++) {
        refuses((bl) => call(holed(bl, i), 0), InvalidArgumentError, new RegExp(`${fn}: blocks\\[${i}\\] is a hole`));
        refuses((bl) => call(bl, holed([0, 0, 0, 0, 0, 0], i)), InvalidArgumentError, new RegExp(`${fn}: offset\\[${i}\\]`));
      }
    }
    // A null data slot stays legal where documented.
    const blocks = [b(16, 1), null, b(16, 3), b(16, 0), b(16, 0)];
    assert.equal(asyncGenSyndrome(blocks, 0, 16).status, DmaStatus.Complete);
    assert.deepEqual(blocks[3], b(16, 1 ^ 3));
  });

  it('regression: allocBlock(-1 | NaN | "x") threw a plain RangeError; freeBlock(null) a TypeError', () => {
    for (const len of [-1, NaN, 'x', 1.5, Infinity, 2n, Symbol('s'), null] as unknown[]) {
      assert.throws(() => allocBlock(len as number), (e: unknown) => e instanceof InvalidArgumentError && /allocBlock: len/.test(e.message), String(typeof len));
    }
    for (const block of [null, undefined, 'x', 3, {}, new Uint16Array(4)] as unknown[]) {
      assert.throws(() => freeBlock(block as Uint8Array), (e: unknown) => e instanceof InvalidArgumentError && /freeBlock: block must be a Uint8Array/.test(e.message));
    }
    const c = createClient({ workers: 0 });
    assert.throws(() => c.freeBlock(null as unknown as Uint8Array), InvalidArgumentError);
    assert.throws(() => c.allocBlock('x' as unknown as number), InvalidArgumentError);
    return c.close();
  });
});
