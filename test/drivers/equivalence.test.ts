/**
 * Every operation on a `workers: 2` client gives the synchronous path's bytes
 * and results, for random inputs: arena blocks (used in place) and plain
 * buffers (bounced), odd lengths and offsets, null slots, every flag; alone,
 * many in flight at once, and in chains that cross the software device and
 * both workers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import * as sync from '../../src/index.js';
import { createClient, DmaStatus, type AsyncTxClient, type Policy, type Tx } from '../../src/index.js';
import { offloadPolicy } from '../../src/sched/policy.js';
import { apply, clonePool, KINDS, makePool, randomSpec, Rng, type Spec } from './opgen.js';

/** Places each operation where `place` says: 'sw' inline, or a worker index. */
function scripted(place: () => 'sw' | number): Policy {
  const leastLoaded = offloadPolicy();
  return (op, where) => {
    const to = place();
    if (to === 'sw') return null;
    return where.channels.find((c) => c.name === `worker/${to}`) ?? leastLoaded(op, where);
  };
}

function assertSamePools(got: readonly Uint8Array[], want: readonly Uint8Array[], what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (Buffer.compare(Buffer.from(got[i].buffer, got[i].byteOffset, got[i].length), Buffer.from(want[i])) !== 0) {
      const at = got[i].findIndex((v, j) => v !== want[i][j]);
      assert.fail(`${what}: buffer ${i} differs from the synchronous path at byte ${at}`);
    }
  }
}

describe('a workers: 2 client equals the synchronous path', () => {
  let placements: Array<'sw' | number> = [];
  let client: AsyncTxClient;
  before(() => {
    client = createClient({ workers: 2, policy: scripted(() => placements.shift() ?? 0) });
  });
  after(() => client.close());

  const POOL = 24;
  const run = async (seed: number, arenaMask: number, batch: number, maxLen: number, kind?: Spec['kind']): Promise<void> => {
    const r = new Rng(seed);
    const bytes = maxLen + 64;
    const arenaBlocks: Uint8Array[] = [];
    const pool = makePool(r, POOL * batch, bytes, (i) => ((arenaMask >>> (i % 31)) & 1) === 1, (len) => {
      const b = client.allocBlock(len);
      arenaBlocks.push(b);
      return b;
    });
    try {
      const ref = clonePool(pool);
      // Each op of the batch has its own POOL buffers, so they may run at once in any order.
      const specs = Array.from({ length: batch }, () => randomSpec(r, POOL, maxLen, 63, kind));
      placements = specs.map(() => r.int(0, 1));
      const txs = specs.map((s, k) => apply(client, pool.slice(k * POOL, (k + 1) * POOL), s));
      const refs = specs.map((s, k) => apply(sync, ref.slice(k * POOL, (k + 1) * POOL), s));
      client.asyncTxIssuePendingAll();
      await Promise.all(txs.map((t) => client.waitForAsyncTx(t)));
      txs.forEach((t, k) => {
        assert.equal(t.status, DmaStatus.Complete);
        assert.match(t.channel, /^worker\/[01]$/, `${specs[k].kind} ran on an engine`);
        assert.equal(t.result, refs[k].result, `${specs[k].kind}: result`);
      });
      assertSamePools(pool, ref, JSON.stringify(specs.map((s) => s.kind)));
    } finally {
      for (const b of arenaBlocks) client.freeBlock(b);
    }
  };

  for (const kind of KINDS) {
    it(`${kind}: random inputs, arena and plain buffers`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer(), fc.integer(), async (seed, mask) => run(seed, mask, 1, 3000, kind)),
        { numRuns: 12 },
      );
    });
  }

  it('many operations in flight at once on both workers', async () => {
    await fc.assert(fc.asyncProperty(fc.integer(), fc.integer(), async (seed, mask) => run(seed, mask, 24, 2000)), { numRuns: 6 });
  });

  it('chains crossing the software device and both workers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer(), fc.integer({ min: 2, max: 8 }), fc.boolean(), async (seed, mask, steps, aligned) => {
        const r = new Rng(seed);
        const arenaBlocks: Uint8Array[] = [];
        const pool = makePool(r, 10, 2048 + 64, (i) => ((mask >>> i) & 1) === 1, (len) => {
          const b = client.allocBlock(len);
          arenaBlocks.push(b);
          return b;
        });
        try {
          const ref = clonePool(pool);
          const specs = Array.from({ length: steps }, () => randomSpec(r, 10, 2048, 63, undefined, aligned));
          const where: Array<'sw' | number> = specs.map(() => (r.chance(0.3) ? 'sw' : r.int(0, 1)));
          placements = [...where];
          let tx: Tx | undefined;
          const order: number[] = [];
          for (let k = 0; k < steps; k++) tx = apply(client, pool, specs[k], { depend: tx, callback: () => order.push(k) });
          let rtx: Tx | undefined;
          for (const s of specs) rtx = apply(sync, ref, s, { depend: rtx });
          client.asyncTxIssuePendingAll();
          await client.waitForAsyncTx(tx!);
          await new Promise((resolve) => setImmediate(resolve));
          assert.deepEqual(order, specs.map((_, k) => k), 'callbacks in chain order');
          assert.equal(tx!.result, rtx!.result);
          assertSamePools(pool, ref, `chain ${JSON.stringify(specs.map((s, k) => `${s.kind}@${where[k]}`))}`);
        } finally {
          for (const b of arenaBlocks) client.freeBlock(b);
        }
      }),
      { numRuns: 60 },
    );
  });
});
