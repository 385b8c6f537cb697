/**
 * Bad input for every exported operation: a typed usage error naming the
 * function and the rule, thrown before any byte is written (semantics 10).
 */
import { describe, it } from 'node:test';
import {
  asyncGenSyndrome, asyncMemcpy, asyncMemset, asyncRaid6DatapRecov, asyncRaid6TwoDataRecov, asyncSyndromeVal,
  asyncTriggerCallback, asyncXor, asyncXorVal, InvalidArgumentError, OutOfRangeError, OverlapError,
  UnknownFlagError, TxFlags,
} from '../../src/index.js';
import { b, refuses } from './refuses.js';

describe('bad input is refused before any byte is written', () => {
  it('asyncMemcpy', () => {
    refuses(([d, s]) => asyncMemcpy(d, s, 0, 0, 17), OutOfRangeError, /^asyncMemcpy: dest holds 16 bytes; offset 0 \+ len 17/);
    refuses(([d, s]) => asyncMemcpy(d, s, 0, 9, 8), OutOfRangeError, /src holds 16 bytes; offset 9/);
    refuses(([d]) => asyncMemcpy(d, d.subarray(4), 0, 0, 8), OverlapError, /dest overlaps src/);
    refuses(([d, s]) => asyncMemcpy(d, s, -1, 0, 8), InvalidArgumentError, /destOffset must be a non-negative integer, got -1/);
    refuses(([d, s]) => asyncMemcpy(d, s, 0, 1.5, 8), InvalidArgumentError, /srcOffset/);
    refuses(([d, s]) => asyncMemcpy(d, s, 0, 0, 0), InvalidArgumentError, /len must be a positive integer, got 0/);
    refuses(([d]) => asyncMemcpy(d, [1, 2] as unknown as Uint8Array, 0, 0, 2), InvalidArgumentError, /src must be a Uint8Array/);
    refuses(([d, s]) => asyncMemcpy(d, s, 0, 0, 8, { flags: TxFlags.XorZeroDst }), UnknownFlagError, /does not honour flag XorZeroDst/);
    refuses(([d, s]) => asyncMemcpy(d, s, 0, 0, 8, { flags: 64 }), UnknownFlagError, /unknown flag bits 0x40/);
    refuses(([d, s]) => asyncMemcpy(d, s, 0, 0, 8, { callback: 5 as unknown as () => void }), InvalidArgumentError, /callback must be a function/);
  });

  it('asyncMemset', () => {
    refuses(([d]) => asyncMemset(d, 256, 0, 4), InvalidArgumentError, /value must be an integer 0..255, got 256/);
    refuses(([d]) => asyncMemset(d, 1, 15, 2), OutOfRangeError, /offset 15 \+ len 2/);
    refuses(([d]) => asyncMemset(d, 1, 0, Number.NaN), InvalidArgumentError, /len must be a positive integer/);
    refuses(([d]) => asyncMemset(new Uint16Array(8) as unknown as Uint8Array, 1, 0, 4), InvalidArgumentError, /dest must be a Uint8Array \(or Buffer\), got a Uint16Array/);
  });

  it('asyncXor and asyncXorVal', () => {
    refuses(([d, s]) => asyncXor(d, [s], 0, 8), InvalidArgumentError, /^asyncXor: srcs needs at least 2 entries, got 1$/);
    refuses(([d, s, t]) => asyncXor(d, [s, t], [0, 0], 8), InvalidArgumentError, /offset array needs 3 entries \(dest first, then each source\), got 2/);
    refuses(([d, s, t]) => asyncXor(d, [s, t], 0, 32), OutOfRangeError, /dest holds 16 bytes/);
    refuses(([d, s]) => asyncXor(d, [s, d.subarray(2)], 0, 8), OverlapError, /dest overlaps srcs\[1\]/);
    refuses(([d, s, t]) => asyncXor(d, [s, t], 0, 8, { flags: TxFlags.PqXorDst }), UnknownFlagError, /PqXorDst/);
    refuses(([d, s]) => asyncXor(d, [s, 'x' as unknown as Uint8Array], 0, 8), InvalidArgumentError, /srcs\[1\] must be a Uint8Array/);
    refuses(([d]) => asyncXor(d, 'ab' as unknown as Uint8Array[], 0, 8), InvalidArgumentError, /srcs must be an array/);
    refuses(([d]) => asyncXorVal(d, [], 0, 8), InvalidArgumentError, /^asyncXorVal: srcs needs at least 1 entries, got 0$/);
    refuses(([d, s]) => asyncXorVal(d, [s], 0, 8, { flags: TxFlags.XorZeroDst }), UnknownFlagError, /XorZeroDst/);
  });

  it('asyncGenSyndrome and asyncSyndromeVal', () => {
    refuses((x) => asyncGenSyndrome(x.slice(0, 3), 0, 8), InvalidArgumentError, /blocks needs 4..255 entries \(data…, P, Q\), got 3/);
    refuses(() => asyncGenSyndrome(new Array(256).fill(b()), 0, 8), InvalidArgumentError, /got 256/);
    refuses((x) => asyncGenSyndrome([x[0], x[1], null, null], 0, 8), InvalidArgumentError, /P and Q are both null/);
    refuses((x) => asyncGenSyndrome([x[0], x[1], x[2], x[0]], 0, 8), OverlapError, /blocks\[3\] \(Q\) overlaps blocks\[0\]/);
    refuses((x) => asyncGenSyndrome([x[0], x[1], x[2], x[2].subarray(4)], 0, 8), OverlapError, /\(P\) overlaps blocks\[3\] \(Q\)/);
    refuses((x) => asyncGenSyndrome(x.slice(0, 4), [0, 0, 0, 9], 8), OutOfRangeError, /blocks\[3\] \(Q\) holds 16 bytes; offset 9/);
    refuses((x) => asyncGenSyndrome(x.slice(0, 4), 0, 8, { flags: TxFlags.XorDropDst }), UnknownFlagError, /XorDropDst/);
    refuses((x) => asyncSyndromeVal([x[0], x[1], null, null], 0, 8), InvalidArgumentError, /nothing to check/);
    refuses((x) => asyncSyndromeVal(x.slice(0, 4), 0, 8, { flags: TxFlags.PqXorDst }), UnknownFlagError, /PqXorDst/);
  });

  it('asyncRaid6TwoDataRecov and asyncRaid6DatapRecov', () => {
    refuses((x) => asyncRaid6TwoDataRecov(x, 0, 0, 0, 8), InvalidArgumentError, /faila and failb must differ/);
    refuses((x) => asyncRaid6TwoDataRecov(x, 0, 5, 0, 8), InvalidArgumentError, /failb must be a data slot 0..3, got 5/);
    refuses((x) => asyncRaid6TwoDataRecov(x, 0, 1, 0, 8, { flags: TxFlags.Fence | TxFlags.PqXorDst }), UnknownFlagError, /PqXorDst/);
    refuses((x) => asyncRaid6DatapRecov(x, 4, 0, 8), InvalidArgumentError, /faila must be a data slot 0..3, got 4/);
    refuses((x) => asyncRaid6DatapRecov(x, '1' as unknown as number, 0, 8), InvalidArgumentError, /faila must be a data slot/);
  });

  it('asyncTriggerCallback', () => {
    refuses(() => asyncTriggerCallback({ flags: TxFlags.XorZeroDst }), UnknownFlagError, /asyncTriggerCallback: does not honour flag XorZeroDst/);
    refuses(() => asyncTriggerCallback('x' as never), InvalidArgumentError, /submit must be an object/);
  });
});
