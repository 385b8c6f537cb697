/**
 * The synchronous fast path (src/async_tx/fast_path.ts) against the general path
 * (dispatch, an engine descriptor on the software channel): two contexts that differ
 * only in whether their placement offers Placement.inlineNow run the same random
 * sequences of calls — good and bad operands, overlapping views, odd flags, depend
 * on earlier descriptors, callbacks — on identical pools. Each call must throw the
 * same error or return a descriptor with the same fields (cookie, status, result,
 * error), leave the same bytes, count the same statistics and run its callback once,
 * asynchronously, in both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bindOps, contextStats, type AsyncTxOps } from '../../src/async_tx/client.js';
import { TxContext } from '../../src/async_tx/context.js';
import { INLINE_ONLY, type Placement } from '../../src/async_tx/placement.js';
import { allocBlock, freeBlock, type Tx } from '../../src/index.js';

const POOL = 1024;
/** The general path: the default placement without inlineNow, so every step is chosen for and dispatched. */
const GENERAL: Placement = {
  choose: INLINE_ONLY.choose,
  submit: INLINE_ONLY.submit,
  chain: INLINE_ONLY.chain,
  completed: INLINE_ONLY.completed,
  ranInline: INLINE_ONLY.ranInline,
};

/** A block: a view of the pool (64-byte slots; one of 96 bytes reaches into the next), null, or not a block. */
type BlockSpec = { at: number; len: number } | { none: true } | { bad: unknown };
const arbBlock: fc.Arbitrary<BlockSpec> = fc.oneof(
  { weight: 16, arbitrary: fc.record({ at: fc.integer({ min: 0, max: 15 }).map((x) => x * 64), len: fc.constantFrom(64, 64, 64, 64, 64, 32, 96) }) },
  { weight: 2, arbitrary: fc.constant({ none: true as const }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(7, 'x', new Uint16Array(8), undefined).map((bad) => ({ bad })) },
);
const arbCall = fc.record({
  fn: fc.constantFrom('memcpy', 'memset', 'xor', 'xorVal', 'pq', 'pqVal', 'datap', 'twoData', 'trigger'),
  blocks: fc.oneof(
    { weight: 4, arbitrary: fc.array(arbBlock, { minLength: 4, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.array(arbBlock, { minLength: 2, maxLength: 3 }) },
  ),
  offset: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }) },
    { weight: 2, arbitrary: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 10 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, 0.5, 'x') },
  ),
  len: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 60 }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 100, NaN) }),
  value: fc.integer({ min: 0, max: 256 }),
  faila: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 1 }) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 7 }) }),
  failb: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 1 }) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 7 }) }),
  flags: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(0, 4, 8, 12) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 31 }) },
    { weight: 1, arbitrary: fc.constantFrom(32, -1, 0.5) },
  ),
  depend: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }) }),
  callback: fc.boolean(),
  withSubmit: fc.boolean(),
});
type CallSpec = typeof arbCall extends fc.Arbitrary<infer T> ? T : never;

/** One side of the comparison: a context, its operations, its pool and the descriptors it returned. */
class Side {
  readonly ctx: TxContext;
  readonly ops: AsyncTxOps;
  readonly txs: Tx[] = [];
  callbacks = 0;
  prepared = 0;

  constructor(readonly name: string, placement: Placement, readonly pool: Uint8Array) {
    this.ctx = new TxContext(name, placement);
    this.ops = bindOps(this.ctx);
    // Counts the engine descriptors made: the fast path makes none.
    const chan = this.ctx.softwareChannel;
    const prepare = chan.prepare.bind(chan);
    chan.prepare = (op, done) => (this.prepared++, prepare(op, done));
  }

  block(b: BlockSpec): unknown {
    if ('bad' in b) return b.bad;
    if ('none' in b) return null;
    return this.pool.subarray(b.at, Math.min(POOL, b.at + b.len));
  }

  /** Runs one call; what it threw or the descriptor's fields as the caller sees them on return. */
  run(c: CallSpec): unknown {
    const bl = c.blocks.map((b) => this.block(b));
    const [a, b] = bl as [Uint8Array, Uint8Array];
    const rest = bl.slice(1) as Array<Uint8Array | null>;
    const depend = c.depend === null ? undefined : this.txs[c.depend];
    const submit = c.withSubmit ? { flags: c.flags, depend, callback: c.callback ? () => void this.callbacks++ : undefined } : undefined;
    const off = c.offset as number;
    const len = c.len as number;
    let tx: Tx;
    try {
      const o = this.ops;
      switch (c.fn) {
        case 'memcpy': tx = o.asyncMemcpy(a, b, off, Array.isArray(c.offset) ? c.offset[0]! : off, len, submit); break;
        case 'memset': tx = o.asyncMemset(a, c.value, off, len, submit); break;
        case 'xor': tx = o.asyncXor(a, rest, c.offset as number[], len, submit); break;
        case 'xorVal': tx = o.asyncXorVal(a, rest, c.offset as number[], len, submit); break;
        case 'pq': tx = o.asyncGenSyndrome(bl as Uint8Array[], c.offset as number[], len, submit); break;
        case 'pqVal': tx = o.asyncSyndromeVal(bl as Uint8Array[], c.offset as number[], len, submit); break;
        case 'datap': tx = o.asyncRaid6DatapRecov(bl as Uint8Array[], c.faila, c.offset as number[], len, submit); break;
        case 'twoData': tx = o.asyncRaid6TwoDataRecov(bl as Uint8Array[], c.faila, c.failb, c.offset as number[], len, submit); break;
        default: tx = o.asyncTriggerCallback(submit);
      }
    } catch (err) {
      return { threw: (err as Error).constructor.name, message: (err as Error).message };
    }
    this.txs.push(tx);
    const { op, cookie, channel, status, result, flags, acked, error } = tx;
    return { op, cookie, channel, status, result, flags, acked, error: error === undefined ? undefined : `${error.constructor.name}: ${error.message}` };
  }
}

/** Two pools with the same bytes: arena blocks (kernels in place) or plain memory (bounced). */
function pools(arena: boolean, seed: number): [Uint8Array, Uint8Array] {
  const make = (): Uint8Array => (arena ? allocBlock(POOL) : new Uint8Array(POOL));
  const [x, y] = [make(), make()];
  for (let i = 0; i < POOL; i++) x[i] = y[i] = (i * 131 + seed * 7 + 3) & 0xff;
  return [x, y];
}

describe('fast path: the same bytes and the same errors as the general path', () => {
  it('random call sequences on arena and plain memory', async () => {
    const accepted = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.nat(255), fc.array(arbCall, { minLength: 1, maxLength: 8 }), async (arena, seed, calls) => {
        const [pf, pg] = pools(arena, seed);
        const fast = new Side('fast', INLINE_ONLY, pf);
        const general = new Side('general', GENERAL, pg);
        for (const c of calls) {
          const f = fast.run(c);
          const g = general.run(c);
          assert.deepEqual(f, g, `${c.fn}: fast and general paths differ`);
          assert.deepEqual(pf, pg, `${c.fn}: bytes differ`);
          assert.equal(fast.callbacks, 0, 'a callback ran inside the call');
          if (!('threw' in (f as object))) accepted.set(c.fn, (accepted.get(c.fn) ?? 0) + 1);
        }
        await new Promise((r) => setImmediate(r));
        assert.equal(fast.callbacks, general.callbacks);
        assert.deepEqual(contextStats(fast.ctx), contextStats(general.ctx));
        assert.equal(fast.prepared, 0, 'the fast path made an engine descriptor');
        assert.equal(general.prepared, general.txs.length, 'the general path ran without a descriptor');
        if (arena) (freeBlock(pf), freeBlock(pg));
      }),
      { numRuns: 1000 },
    );
    // Every operation must have been accepted often enough for the comparison to mean something.
    for (const fn of ['memcpy', 'memset', 'xor', 'xorVal', 'pq', 'pqVal', 'datap', 'twoData', 'trigger']) {
      assert.ok((accepted.get(fn) ?? 0) >= 5, `${fn}: only ${accepted.get(fn) ?? 0} calls accepted, the property tested too little`);
    }
  });
});

describe('fast path: no microtask unless a callback was given', () => {
  it('queues one microtask for a callback and none without', async () => {
    const ctx = new TxContext('microtasks', INLINE_ONLY);
    const ops = bindOps(ctx);
    const blocks = Array.from({ length: 6 }, () => allocBlock(4096));
    const real = globalThis.queueMicrotask;
    let queued = 0;
    globalThis.queueMicrotask = (f) => (queued++, real(f));
    let called = 0;
    try {
      ops.asyncGenSyndrome(blocks, 0, 4096);
      ops.asyncXor(blocks[0]!, blocks.slice(1), 0, 4096, { flags: 1 });
      ops.asyncMemset(blocks[0]!, 1, 0, 4096, { flags: 4 });
      assert.equal(queued, 0);
      const tx = ops.asyncSyndromeVal(blocks, 0, 4096, { callback: () => void called++ });
      assert.equal(queued, 1);
      assert.equal(called, 0, 'the callback ran inside the call');
      assert.equal(tx.status, 0);
    } finally {
      globalThis.queueMicrotask = real;
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(called, 1);
    for (const b of blocks) freeBlock(b);
  });
});
