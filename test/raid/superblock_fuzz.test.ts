/**
 * Fuzz: mutated superblocks (random bytes, random 32/64-bit fields, checksum
 * fixed up or not) through readSuperblock, examine, assemble, detail and a
 * read + check where assembly succeeds. Every outcome is a result or a typed
 * error (AsyncTxError); nothing hangs, nothing crashes, and a read-only
 * assembly writes no byte to any member.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AsyncTxError } from '../../src/index.js';
import { assemble, detailText, examineText, readSuperblock, scrub, sbChecksum, SECTOR, superOffsetFor, MemoryMember } from '../../src/raid/index.js';
import { memoryArray } from './helpers.js';

const RUNS = 3000;
const MEMBER = (1 << 20) + 65536;

/** The 1.2 superblock area: fields at 0..256, the role table after. */
const FIELD_OFFSETS = [0, 4, 8, 72, 76, 80, 88, 92, 96, 128, 136, 144, 152, 160, 184, 185, 186, 188, 200, 208, 216, 220, 256, 258];

function typed(e: unknown): void {
  assert.ok(e instanceof AsyncTxError, `untyped error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  assert.ok((e as Error).message.length < 2000, 'message bounded');
}

describe('superblock fuzz', () => {
  it(`${RUNS} mutated superblocks: typed errors only, nothing written by read-only assembly`, async () => {
    const { array, members } = await memoryArray(4, MEMBER, { level: 6, chunkBytes: 16384 });
    await array.write(new Uint8Array(32768).fill(0x5a), 0);
    await array.stop();
    const images = members.map((m) => m.data.slice());
    const sbAt = superOffsetFor(2, MEMBER / SECTOR) * SECTOR;

    const mutation = fc.record({
      member: fc.nat(3),
      edits: fc.array(
        fc.oneof(
          fc.record({ at: fc.constantFrom(...FIELD_OFFSETS), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
          fc.record({ at: fc.nat(1023), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      fixChecksum: fc.boolean(),
      all: fc.boolean(),
    });
    let runs = 0;
    let assembled = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (mu) => {
        runs++;
        const ms = images.map((img, i) => new MemoryMember(`fz${i}`, img.slice()));
        for (const [i, m] of ms.entries()) {
          if (!mu.all && i !== mu.member) continue;
          const sb = m.data.subarray(sbAt, sbAt + 4096);
          for (const e of mu.edits) sb.set(e.bytes.subarray(0, Math.max(0, 1024 - e.at)), e.at);
          if (mu.fixChecksum) {
            const maxDev = new DataView(sb.buffer, sb.byteOffset).getUint32(220, true);
            if (maxDev <= 1920) new DataView(sb.buffer, sb.byteOffset).setUint32(216, sbChecksum(sb, maxDev), true);
          }
        }
        const before = ms.map((m) => m.data.slice());
        try {
          const sb = await readSuperblock(ms[mu.member]!);
          examineText(ms[mu.member]!.name, sb, MEMBER / SECTOR);
        } catch (e) {
          typed(e);
        }
        try {
          const { array: a } = await assemble(ms, { readonly: true });
          assembled++;
          detailText(a);
          const buf = new Uint8Array(Math.min(a.size, 65536));
          await a.read(buf, 0);
          await scrub(a, 'check');
          await a.stop();
        } catch (e) {
          typed(e);
        }
        ms.forEach((m, i) => assert.ok(Buffer.from(m.data).equals(Buffer.from(before[i]!)), `member ${i} changed`));
      }),
      { numRuns: RUNS, seed: 20261202 },
    );
    assert.equal(runs, RUNS);
    console.log(`# superblock fuzz: ${runs} mutations, ${assembled} still assembled read-only`);
  });
});
