/**
 * Round trips over the matrix: every layout of RAID-5 and RAID-6, 4 to 8
 * members, chunks 4 to 256 KiB (each layout × member count gets one chunk size,
 * rotating so every chunk size is covered). Full-stripe and unaligned writes,
 * read back healthy and degraded, and check finds parity consistent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble, scrub } from '../../src/raid/index.js';
import { bytes, memoryArray } from './helpers.js';

const CHUNKS = [4, 8, 16, 32, 64, 128, 256].map((k) => k * 1024);
const LAYOUTS: Array<[number, number[]]> = [
  [5, [0, 1, 2, 3, 4, 5]],
  [6, [0, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20]],
];

describe('round trips over layouts × levels × members × chunks', () => {
  let caseNo = 0;
  for (const [level, layouts] of LAYOUTS) {
    for (const layout of layouts) {
      for (let n = 4; n <= 8; n++) {
        const chunk = CHUNKS[caseNo++ % CHUNKS.length]!;
        it(`RAID-${level} layout ${layout}, ${n} members, ${chunk / 1024}K chunk`, async () => {
          const rows = 2 * n + 1; // more than one full rotation of P/Q
          const memberBytes = (1 << 20) + rows * chunk;
          const { array, members } = await memoryArray(n, memberBytes, { level, layout, chunkBytes: chunk, unit: Math.min(chunk, 32 * 1024) });
          assert.equal(array.size, rows * chunk * (n - (level === 6 ? 2 : 1)));
          const data = bytes(array.size, caseNo * 7919 + n);
          await array.write(data, 0); // full stripes
          const patch = bytes(3 * chunk + 1234, n);
          const at = Math.floor(array.size / 3) + 511; // unaligned: sector read-modify-write
          await array.write(patch, at);
          data.set(patch, at);
          const back = new Uint8Array(array.size);
          await array.read(back, 0);
          assert.ok(Buffer.from(back).equals(Buffer.from(data)), 'healthy read differs');
          assert.equal((await scrub(array, 'check')).mismatches, 0);
          await array.stop();
          // Reassemble without the last `maxDegraded` members, in reverse order.
          const keep = members.slice(0, n - (level === 6 ? 2 : 1)).reverse();
          const { array: deg } = await assemble(keep, { readonly: true });
          const back2 = new Uint8Array(array.size);
          await deg.read(back2, 0);
          assert.ok(Buffer.from(back2).equals(Buffer.from(data)), 'degraded read differs');
        });
      }
    }
  }
});
