/** Random reads and writes (unaligned offsets and lengths) against a flat-file model, healthy and degraded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { scrub } from '../../src/raid/index.js';
import { bytes, memoryArray } from './helpers.js';

type Op = { kind: 'write' | 'read'; at: number; len: number; seed: number } | { kind: 'fail'; slot: number };

function opArb(size: number, n: number): fc.Arbitrary<Op> {
  const range = fc.tuple(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 1, max: 70000 })).map(([at, len]) => ({ at, len: Math.min(len, size - at) }));
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(range, fc.integer()).map(([r, seed]) => ({ kind: 'write' as const, ...r, seed })) },
    { weight: 4, arbitrary: range.map((r) => ({ kind: 'read' as const, ...r, seed: 0 })) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: n - 1 }).map((slot) => ({ kind: 'fail' as const, slot })) },
  );
}

for (const level of [5, 6]) {
  describe(`RAID-${level} against a flat model`, () => {
    it('every read returns what the model holds; parity checks clean while healthy', async () => {
      const n = level === 6 ? 6 : 5;
      const chunk = 16 * 1024;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.array(opArb((n - level + 4) * chunk * 10, n), { minLength: 5, maxLength: 25 }), async (layout, ops) => {
          const { array } = await memoryArray(n, (1 << 20) + 10 * chunk, { level, layout, chunkBytes: chunk, unit: 8192, cacheStripes: 8 });
          const model = new Uint8Array(array.size);
          let failed = 0;
          for (const op of ops) {
            if (op.kind === 'fail') {
              if (failed < level - 4 && array.slots[op.slot]!.state === 'in_sync') {
                await array.fail(op.slot);
                failed++;
              }
              continue;
            }
            const at = op.at % array.size;
            const len = Math.min(op.len, array.size - at);
            if (op.kind === 'write') {
              const d = bytes(len, op.seed);
              await array.write(d, at);
              model.set(d, at);
            } else {
              const got = new Uint8Array(len);
              await array.read(got, at);
              assert.ok(Buffer.from(got).equals(Buffer.from(model.subarray(at, at + len))), `read ${at}+${len}`);
            }
          }
          const all = new Uint8Array(array.size);
          await array.read(all, 0);
          assert.ok(Buffer.from(all).equals(Buffer.from(model)));
          if (failed === 0) assert.equal((await scrub(array, 'check')).mismatches, 0);
        }),
        { numRuns: 25 },
      );
    });
  });
}
