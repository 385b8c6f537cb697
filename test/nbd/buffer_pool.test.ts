/**
 * The server's reused READ buffers and WRITE payloads (buffer_pool.ts): the
 * pool's own rules, and on the wire that concurrent reads finishing out of
 * order on two connections, interleaved with writes, each get their own bytes
 * while buffers cycle between requests. That a buffer goes back only after the
 * socket took it is checked on Replies itself (replies.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdClient, NbdServer } from '../../src/nbd/index.js';
import { BufferPool } from '../../src/nbd/buffer_pool.js';
import { MemoryTarget } from './memory_target.js';

describe('BufferPool', () => {
  it('hands back a given buffer for the same length only, and keeps at most maxBytes idle', () => {
    const pool = new BufferPool(3 * 8192);
    const a = pool.take(8192);
    pool.give(a);
    assert.equal(pool.idleBytes, 8192);
    assert.notEqual(pool.take(16384), a, 'another length must not get it');
    assert.equal(pool.take(8192), a);
    assert.equal(pool.idleBytes, 0);
    for (let i = 0; i < 5; i++) pool.give(Buffer.alloc(8192));
    assert.equal(pool.idleBytes, 3 * 8192, 'kept beyond maxBytes');
  });

  it('with a source: takes its memory (views of the same bytes), frees to it what it does not keep and, on drain, what it kept', () => {
    const backing = new Uint8Array(64 << 10);
    const live = new Set<number>();
    const freed: number[] = [];
    let next = 0;
    const source = {
      alloc: (n: number) => {
        const u = backing.subarray(next, next + n);
        live.add(u.byteOffset);
        next += n;
        return u;
      },
      free: (u: Uint8Array) => {
        assert.ok(live.delete(u.byteOffset), `freed a buffer the source never gave (offset ${u.byteOffset})`);
        freed.push(u.byteOffset);
      },
    };
    const pool = new BufferPool(8192, source);
    const a = pool.take(8192);
    const b = pool.take(8192);
    assert.equal(a.buffer, backing.buffer, 'not the source memory');
    assert.equal(b.byteOffset, 8192);
    assert.equal(pool.take(100).buffer === backing.buffer, false, 'a small buffer should not use the source');
    pool.give(a);
    pool.give(b); // over maxBytes: back to the source
    assert.deepEqual(freed, [8192]);
    pool.drain();
    assert.deepEqual(freed, [8192, 0]);
    assert.equal(pool.idleBytes, 0);
    assert.equal(live.size, 0);
  });

  it('never keeps buffers under 4 KiB (they are views of Node\'s shared slab)', () => {
    const pool = new BufferPool();
    pool.give(pool.take(512));
    assert.equal(pool.idleBytes, 0);
  });
});

describe('NBD server buffer reuse on the wire', () => {
  const SIZE = 8 << 20;
  let dir = '';
  let target: MemoryTarget;
  let server: NbdServer;
  let path = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbd-pool-'));
    target = new MemoryTarget(SIZE);
    randomBytes(SIZE).copy(target.bytes);
    // Later offsets answer sooner: replies finish out of order and buffers cycle between requests.
    target.delayMs = (offset) => (offset % (1 << 20) < 512 << 10 ? 3 : 0);
    server = new NbdServer(target);
    path = join(dir, 'sock');
    await server.listen({ path });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent reads and writes on two connections each see exactly their bytes, over several rounds of reuse', async () => {
    const conns = [await NbdClient.connect({ path }), await NbdClient.connect({ path })];
    try {
      for (let round = 0; round < 4; round++) {
        const len = 256 << 10;
        const jobs: Array<Promise<void>> = [];
        const written = new Map<number, Buffer>();
        for (let i = 0; i < 24; i++) {
          const at = ((i * 7 + round * 3) % 32) * len;
          const c = conns[i % 2]!;
          if (i % 5 === 4 && !written.has(at)) {
            const data = randomBytes(len);
            written.set(at, data);
            jobs.push(c.write([data], at));
          } else if (!written.has(at)) {
            const want = Buffer.from(target.bytes.subarray(at, at + len));
            const got = Buffer.alloc(len);
            jobs.push(c.read([got], at).then(() => assert.ok(got.equals(want), `read at ${at} (round ${round}) got other bytes`)));
          }
        }
        await Promise.all(jobs);
        for (const [at, data] of written) assert.ok(target.bytes.subarray(at, at + len).equals(data), `write at ${at} (round ${round}) landed wrong`);
      }
    } finally {
      for (const c of conns) await c.close();
    }
  });
});
