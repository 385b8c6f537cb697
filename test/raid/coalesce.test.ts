/**
 * Member I/O merging and worker engines: consecutive stripes become one
 * request per member, and merged, offloaded, concurrent requests still read
 * back what a flat file would hold (healthy, then degraded), on real files.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createClient, type AsyncTxClient } from '../../src/index.js';
import { create, FileMember, MemoryMember, scrub, SECTOR } from '../../src/raid/index.js';
import { bytes } from './helpers.js';

/** Counts the requests that reach each member in its data area. */
class Counting extends MemoryMember {
  requests: Array<[string, number, number]> = [];
  dataFrom = Infinity;
  private note(kind: string, pos: number, len: number): void {
    if (pos >= this.dataFrom) this.requests.push([kind, pos, len]);
  }
  override write(buf: Uint8Array, pos: number): Promise<void> {
    this.note('write', pos, buf.length);
    return super.write(buf, pos);
  }
  override writev(bufs: readonly Uint8Array[], pos: number): Promise<void> {
    this.note('writev', pos, bufs.reduce((n, b) => n + b.length, 0));
    return super.writev(bufs, pos);
  }
  override read(buf: Uint8Array, pos: number): Promise<void> {
    this.note('read', pos, buf.length);
    return super.read(buf, pos);
  }
  override readv(bufs: readonly Uint8Array[], pos: number): Promise<void> {
    this.note('readv', pos, bufs.reduce((n, b) => n + b.length, 0));
    return super.readv(bufs, pos);
  }
}

describe('member I/O merging', () => {
  it('a full-stripe write of 8 contiguous stripes is one write per member; a read of them one read per member', async () => {
    const chunk = 64 * 1024;
    const members = Array.from({ length: 6 }, (_, i) => new Counting(`c${i}`, 4 << 20));
    const array = await create(members, { level: 6, chunkBytes: chunk, assumeClean: true, cleanDelayMs: 0, cacheStripes: 64, memberIo: 'queue' });
    const dataOffset = array.table.master.dataOffset * SECTOR;
    for (const m of members) m.dataFrom = dataOffset;
    const data = bytes(8 * 4 * chunk, 5);
    await array.write(data, 0);
    for (const m of members) assert.deepEqual(m.requests, [['writev', dataOffset, 8 * chunk]], m.name);
    assert.deepEqual(array.ioStats(), { requests: 48, issued: 6, bytes: 48 * chunk });
    // A healthy read touches only the data chunks: contiguous runs between each member's P/Q rows merge.
    for (const m of members) m.requests = [];
    const got = new Uint8Array(data.length);
    await array.read(got, 0);
    assert.ok(Buffer.from(got).equals(Buffer.from(data)));
    const reads = members.reduce((n, m) => n + m.requests.length, 0);
    assert.ok(reads < 32, `32 data chunks read in ${reads} requests`);
    await array.stop();
  });

  for (const level of [5, 6]) {
    describe(`RAID-${level} on files, parity on a worker engine, requests in flight together`, () => {
      let client: AsyncTxClient;
      let dir: string;
      before(async () => {
        client = createClient({ workers: 1, policy: 'offload' });
        dir = await mkdtemp(join(tmpdir(), 'asynctx-coalesce-'));
      });
      after(async () => {
        await client.close();
        await rm(dir, { recursive: true, force: true });
      });

      it('reads match a flat model while disjoint writes and reads run at once; degraded too; parity checks clean', async () => {
        const n = level === 6 ? 6 : 5;
        const chunk = 16 * 1024;
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 90_000 }), fc.integer({ min: 0, max: 20_000 }), fc.integer()), { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 6 }),
            fc.integer({ min: 0, max: 5 }),
            async (rounds, failAfter) => {
              const sub = join(dir, `r${run++}`);
              const files = await Promise.all(Array.from({ length: n }, (_, i) => FileMember.create(`${sub}-${i}`, (1 << 20) + 4 * chunk)));
              const array = await create(files, { level, chunkBytes: chunk, assumeClean: true, cleanDelayMs: 0, ops: client, unit: 8192, cacheStripes: 16, mergeBytes: 64 * 1024, memberIo: run % 2 === 0 ? 'queue' : 'chain' });
              try {
                // Members are zero-filled and --assume-clean: the model starts as zeros.
                const model = new Uint8Array(array.size);
                let failed = 0;
                for (const [r, ops] of rounds.entries()) {
                  if (r === failAfter && failed < level - 4) {
                    await array.fail(level === 6 ? 1 : 2);
                    failed++;
                  }
                  // Lay the requests of one round end to end with gaps, so they never overlap.
                  let at = 0;
                  const jobs: Array<Promise<void>> = [];
                  const checks: Array<() => void> = [];
                  for (const [write, len0, gap, seed] of ops) {
                    at += gap;
                    if (at >= array.size) break;
                    const len = Math.min(len0, array.size - at);
                    const where = at;
                    if (write) {
                      const d = bytes(len, seed);
                      model.set(d, where);
                      jobs.push(array.write(d, where));
                    } else {
                      const got = new Uint8Array(len);
                      const want = model.slice(where, where + len);
                      jobs.push(array.read(got, where));
                      checks.push(() => assert.ok(Buffer.from(got).equals(Buffer.from(want)), `read ${where}+${len}`));
                    }
                    at += len;
                  }
                  await Promise.all(jobs);
                  for (const c of checks) c();
                }
                const all = new Uint8Array(array.size);
                await array.read(all, 0);
                assert.ok(Buffer.from(all).equals(Buffer.from(model)));
                if (failed === 0) assert.equal((await scrub(array, 'check')).mismatches, 0);
                const io = array.ioStats();
                assert.ok(io.issued <= io.requests);
              } finally {
                await array.stop();
                await Promise.all(files.map((f) => f.close()));
              }
            },
          ),
          { numRuns: 12 },
        );
        const offloaded = Object.values(client.stats().ops).reduce((k, o) => k + o.offloaded, 0);
        assert.ok(offloaded > 0, 'parity work ran on the worker engine');
      });
    });
  }
});
