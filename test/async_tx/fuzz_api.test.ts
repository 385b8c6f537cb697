/**
 * Fuzz of the consumer API with random, mostly bad, calls: wrong types, holes,
 * out-of-range offsets and lengths, bad flags, overlapping views of one buffer,
 * misused depend/ack. Each call must either throw a subclass of AsyncTxError
 * having written nothing, or be accepted and then complete (no hang) with the
 * bytes a reference model computes (memcpy, memset, xor, xor_val, pq).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import * as api from '../../src/index.js';
import { AsyncTxError, createClient, DmaStatus, TxFlags, type AsyncTxOps, type Tx } from '../../src/index.js';

const POOL = 256;
/** Where views of the pool may start and how long they are: overlaps are common. */
const arbView = fc.record({ at: fc.integer({ min: 0, max: POOL - 1 }), len: fc.integer({ min: 0, max: 64 }) });
const oddNumbers = [-1, NaN, Infinity, -Infinity, 0.5, 2 ** 31, 2 ** 32, 2 ** 32 + 4, 2 ** 53, -0];
type Val = { view: { at: number; len: number } } | { num: number } | { raw: unknown } | { arr: Val[] } | { tx: number };

const leaf: fc.Arbitrary<Val> = fc.oneof(
  { weight: 6, arbitrary: arbView.map((view) => ({ view })) },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 40 }).map((num) => ({ num })) },
  { weight: 2, arbitrary: fc.constantFrom(...oddNumbers).map((num) => ({ num })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((tx) => ({ tx })) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, undefined, 'x', '4', 4n, true, {}, Symbol('s'), new Uint16Array(4), new ArrayBuffer(8), () => 1).map((raw) => ({ raw })) },
);
const value: fc.Arbitrary<Val> = fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 2, arbitrary: fc.sparseArray(leaf, { maxLength: 7 }).map((arr) => ({ arr })) });
const flags = fc.oneof(fc.integer({ min: 0, max: 31 }), fc.constantFrom(32, 64, 2 ** 32, 2 ** 32 + TxFlags.Ack, -1, NaN, 0.5, 2 ** 53));
const submit = fc.option(
  fc.record({ flags: fc.option(flags), depend: fc.option(leaf), callback: fc.option(fc.constantFrom<unknown>(() => {}, 'f', 3)) }, { requiredKeys: [] }),
);

const ARITY: Record<string, number> = {
  asyncMemcpy: 5, asyncMemset: 4, asyncXor: 4, asyncXorVal: 4, asyncGenSyndrome: 3, asyncSyndromeVal: 3,
  asyncRaid6DatapRecov: 4, asyncRaid6TwoDataRecov: 5, asyncTriggerCallback: 0, asyncTxAck: 1, waitForAsyncTx: 1,
  asyncTxIssuePendingAll: 0, allocBlock: 1, freeBlock: 1, createClient: 0,
};
/** Near-valid arguments (small blocks anywhere in the pool), so many calls reach the operations. */
const blk: fc.Arbitrary<Val> = fc.integer({ min: 0, max: POOL - 24 }).map((at) => ({ view: { at, len: 24 } }));
const small = (min: number, max: number): fc.Arbitrary<Val> => fc.integer({ min, max }).map((num) => ({ num }));
const blocksOf = (min: number, max: number): fc.Arbitrary<Val> =>
  fc.array(fc.oneof({ weight: 5, arbitrary: blk }, { weight: 1, arbitrary: fc.constant<Val>({ raw: null }) }), { minLength: min, maxLength: max }).map((arr) => ({ arr }));
const plausible: Record<string, fc.Arbitrary<Val[]>> = {
  asyncMemcpy: fc.tuple(blk, blk, small(0, 8), small(0, 8), small(1, 16)),
  asyncMemset: fc.tuple(blk, small(0, 255), small(0, 8), small(1, 16)),
  asyncXor: fc.tuple(blk, blocksOf(2, 4), small(0, 8), small(1, 16)),
  asyncXorVal: fc.tuple(blk, blocksOf(1, 4), small(0, 8), small(1, 16)),
  asyncGenSyndrome: fc.tuple(blocksOf(4, 6), small(0, 8), small(1, 16)),
  asyncSyndromeVal: fc.tuple(blocksOf(4, 6), small(0, 8), small(1, 16)),
  asyncRaid6DatapRecov: fc.tuple(blocksOf(4, 6), small(0, 3), small(0, 8), small(1, 16)),
  asyncRaid6TwoDataRecov: fc.tuple(blocksOf(4, 6), small(0, 3), small(0, 3), small(0, 8), small(1, 16)),
};
const fnAndArgs = fc.oneof(
  fc.record({ fn: fc.constantFrom(...Object.keys(ARITY)), args: fc.array(value, { minLength: 5, maxLength: 5 }) }),
  fc.constantFrom(...Object.keys(plausible)).chain((fn) => plausible[fn].map((args) => ({ fn, args }))),
);
const call = fc.record({
  fa: fnAndArgs,
  submit,
  option: fc.record({ key: fc.constantFrom('workers', 'policy', 'offloadThreshold', 'engine', 'timeoutMs', 'faults', 'wrokers'), v: value }),
});

/** The call's arguments, made real against this run's pool and descriptors. */
function realise(v: Val | undefined, pool: Uint8Array, txs: unknown[]): unknown {
  if (v === undefined) return undefined;
  if ('view' in v) return pool.subarray(v.view.at, Math.min(POOL, v.view.at + v.view.len));
  if ('num' in v) return v.num;
  if ('tx' in v) return txs[v.tx];
  if ('arr' in v) {
    const out = new Array<unknown>(v.arr.length);
    v.arr.forEach((x, i) => (out[i] = realise(x, pool, txs)));
    return out;
  }
  return v.raw;
}

const rebase = (v: Uint8Array, into: Uint8Array): Uint8Array => into.subarray(v.byteOffset, v.byteOffset + v.length);
const offsetsOf = (o: unknown, n: number): number[] => (typeof o === 'number' ? new Array<number>(n).fill(o) : (o as number[]));
const mul2 = (x: number): number => ((x << 1) ^ (x & 0x80 ? 0x11d : 0)) & 0xff;

/** What an accepted call must leave in the pool (a copy), or null where this model does not predict bytes. */
function expected(fn: string, a: unknown[], fl: number, before: Uint8Array): { pool: Uint8Array; result?: number } | null {
  const out = before.slice();
  const len = a[fn === 'asyncMemcpy' ? 4 : fn === 'asyncMemset' || fn.startsWith('asyncXor') ? 3 : 2] as number;
  switch (fn) {
    case 'asyncMemcpy': {
      const [d, s, dOff, sOff] = a as [Uint8Array, Uint8Array, number, number];
      rebase(d, out).set(rebase(s, before).subarray(sOff, sOff + len), dOff);
      return { pool: out };
    }
    case 'asyncMemset': {
      const [d, val, off] = a as [Uint8Array, number, number];
      rebase(d, out).fill(val, off, off + len);
      return { pool: out };
    }
    case 'asyncXor':
    case 'asyncXorVal': {
      const [d, srcs, o] = a as [Uint8Array, Array<Uint8Array | null>, unknown];
      const offs = offsetsOf(o, srcs.length + 1);
      const views = srcs.map((s, i) => (s === null ? null : rebase(s, before).subarray(offs[i + 1], offs[i + 1] + len)));
      const used = views.slice(fl & TxFlags.XorDropDst ? 1 : 0).filter((x): x is Uint8Array => x !== null);
      const dv = rebase(d, before).subarray(offs[0], offs[0] + len);
      const acc = fn === 'asyncXor' && fl & TxFlags.XorZeroDst ? new Uint8Array(len) : dv.slice();
      for (const s of used) for (let i = 0; i < len; i++) acc[i] ^= s[i];
      if (fn === 'asyncXorVal') return { pool: out, result: acc.some((x) => x !== 0) ? 1 : 0 };
      rebase(d, out).set(acc, offs[0]);
      return { pool: out };
    }
    case 'asyncGenSyndrome':
    case 'asyncSyndromeVal': {
      const [blocks, o] = a as [Array<Uint8Array | null>, unknown];
      const n = blocks.length;
      const offs = offsetsOf(o, n);
      const v = blocks.map((x, i) => (x === null ? null : rebase(x, before).subarray(offs[i], offs[i] + len)));
      const p = new Uint8Array(len);
      const q = new Uint8Array(len);
      for (let i = 0; i < len; i++) {
        for (let j = n - 3; j >= 0; j--) {
          const x = v[j]?.[i] ?? 0;
          p[i] ^= x;
          q[i] = mul2(q[i]) ^ x;
        }
      }
      if (fn === 'asyncSyndromeVal') {
        const bad = (got: Uint8Array | null, want: Uint8Array) => got !== null && got.some((x, i) => x !== want[i]);
        return { pool: out, result: (bad(v[n - 2], p) ? 1 : 0) | (bad(v[n - 1], q) ? 2 : 0) };
      }
      const rmw = (fl & TxFlags.PqXorDst) !== 0;
      for (const [k, want] of [[n - 2, p], [n - 1, q]] as const) {
        const blk = blocks[k];
        if (blk === null) continue;
        const cur = v[k]!;
        rebase(blk, out).set(rmw ? want.map((x, i) => x ^ cur[i]) : want, offs[k]);
      }
      return { pool: out };
    }
  }
  return null;
}

/** Settles a call's answer, or reports a hang. */
async function settle(x: unknown, ms = 3000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('hang')), ms)));
  try {
    return await Promise.race([Promise.resolve(x), hang]);
  } finally {
    clearTimeout(timer);
  }
}

const engines = createClient({ workers: 1, policy: 'offload' });
after(() => engines.close());
const other = createClient({ workers: 0 });
after(() => other.close());

describe('fuzz: random bad calls to every exported function', () => {
  it('each throws a typed error having written nothing, or completes with the right bytes', async () => {
    let calls = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(call, { minLength: 2, maxLength: 4 }), async (onEngines, seq) => {
        const ops: AsyncTxOps & { allocBlock(n: number): Uint8Array; freeBlock(b: Uint8Array): void } = onEngines ? engines : api;
        const pool = new Uint8Array(new ArrayBuffer(POOL)).map((_, i) => (i * 37 + 11) & 0xff);
        const txs: unknown[] = [other.asyncTriggerCallback()];
        for (const { fa, ...c0 } of seq) {
          const c = { ...c0, ...fa };
          calls++;
          const args = c.args.map((v) => realise(v, pool, txs)).slice(0, ARITY[c.fn]);
          const sub = c.submit === null ? undefined : {
            ...(c.submit.flags !== undefined && c.submit.flags !== null ? { flags: c.submit.flags } : {}),
            ...(c.submit.depend !== undefined && c.submit.depend !== null ? { depend: realise(c.submit.depend, pool, txs) as Tx } : {}),
            ...(c.submit.callback !== undefined && c.submit.callback !== null ? { callback: c.submit.callback as () => void } : {}),
          };
          const before = pool.slice();
          let answer: unknown;
          try {
            if (c.fn === 'createClient') answer = createClient({ workers: 0, [c.option.key]: realise(c.option.v, pool, txs) } as api.ClientOptions);
            else answer = (ops as unknown as Record<string, (...a: unknown[]) => unknown>)[c.fn](...args, ...(ARITY[c.fn] >= 3 || c.fn === 'asyncTriggerCallback' ? [sub] : []));
            answer = await settle(answer);
          } catch (err) {
            assert.ok(err instanceof AsyncTxError, `${c.fn}: untyped ${String(err)}`);
            assert.deepEqual(pool, before, `${c.fn} threw ${err.message} but wrote`);
            continue;
          }
          accepted++;
          if (c.fn === 'createClient') await settle((answer as api.AsyncTxClient).close());
          if (c.fn === 'allocBlock') api.freeBlock(answer as Uint8Array);
          if (typeof answer !== 'object' || answer === null || !('op' in answer) || c.fn === 'waitForAsyncTx') continue;
          const tx = answer as Tx;
          txs.push(tx);
          await settle(ops.waitForAsyncTx(tx).catch(() => undefined));
          assert.notEqual(tx.status, DmaStatus.InProgress);
          if (tx.status === DmaStatus.Error) {
            assert.ok(tx.error instanceof AsyncTxError, `${c.fn}: untyped descriptor error ${String(tx.error)}`);
            assert.deepEqual(pool, before, `${c.fn} failed but wrote`);
            continue;
          }
          const want = expected(c.fn, args, tx.flags, before);
          if (want === null) continue;
          assert.deepEqual(pool, want.pool, `${c.fn}: wrong bytes`);
          if (want.result !== undefined) assert.equal(tx.result, want.result, `${c.fn}: wrong result`);
        }
      }),
      { numRuns: 2000, seed: 0x5eed },
    );
    assert.ok(calls >= 5000, `only ${calls} calls`);
    assert.ok(accepted > 500, `only ${accepted} calls were accepted: the fuzz barely reaches the operations`);
  });
});
