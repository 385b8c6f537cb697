/**
 * The shared arena: block alignment and stagger, no overlap under random
 * alloc/free sequences, coalescing, exhaustion and misuse errors, the size
 * setting, the versioned header, and sharing the memory and kernels with a
 * worker thread.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors.js';
import { gfNibbleTableAll } from '../../src/gf/index.js';
import { scalarKernels } from '../../src/kernels/index.js';
import {
  ARENA_LAYOUT_VERSION,
  ArenaConfigError,
  ArenaExhaustedError,
  ArenaFreeError,
  arenaMegabytesFromEnv,
  createArena,
  isArenaBlock,
  readArenaHeader,
} from '../../src/mem/index.js';
import { randomBlock, repoRoot } from '../helpers.js';

const MiB = 1024 * 1024;

describe('arena', () => {
  it('hands out 64-byte aligned blocks inside its shared memory, staggered modulo 4 KiB', () => {
    const a = createArena({ megabytes: 8 });
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.equal(a.memory.buffer, a.buffer);
    const blocks = Array.from({ length: 64 }, () => a.allocBlock(4096));
    for (const b of blocks) {
      assert.equal(b.byteOffset % 64, 0);
      assert.equal(b.length, 4096);
      assert.equal(b.buffer, a.buffer);
      assert.ok(a.isArenaBlock(b));
      assert.ok(a.isArenaBlock(b.subarray(10, 20)), 'a view inside a block is in the arena too');
    }
    const residues = new Set(blocks.map((b) => b.byteOffset % 4096));
    assert.equal(residues.size, 64, '64 successive blocks start on 64 different lines of a page');
    assert.equal(a.isArenaBlock(new Uint8Array(4096)), false);
    assert.equal(a.isArenaBlock(new Uint8Array(a.buffer, 0, 64)), false, 'the header is not a block');
    assert.equal(isArenaBlock(new Uint8Array(8)), false);
  });

  it('never overlaps live blocks, and coalesces everything back when freed', () => {
    const cmd = fc.oneof(
      fc.record({ alloc: fc.integer({ min: 0, max: 300 * 1024 }) }),
      fc.record({ free: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 60 }), (cmds) => {
        const a = createArena({ megabytes: 4 });
        const live: Uint8Array[] = [];
        for (const c of cmds) {
          if ('alloc' in c) {
            try {
              live.push(a.allocBlock(c.alloc));
            } catch (err) {
              assert.ok(err instanceof ArenaExhaustedError);
            }
          } else if (live.length > 0) {
            a.freeBlock(live.splice(c.free % live.length, 1)[0]);
          }
          const spans = live.map((b) => [b.byteOffset, b.byteOffset + Math.max(64, b.length)] as const).sort((x, y) => x[0] - y[0]);
          for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1][1] <= spans[i][0], 'blocks overlap');
          for (const [s, e] of spans) assert.ok(s >= 2 * MiB && e <= a.bytes && s % 64 === 0);
          assert.equal(a.usage().blocks, live.length);
        }
        for (const b of live) a.freeBlock(b);
        const u = a.usage();
        assert.equal(u.usedBytes, 0);
        assert.equal(u.largestFree, u.dataBytes, 'one free range again');
      }),
      { numRuns: 60 },
    );
  });

  it('says clearly when it is exhausted, and recovers when blocks are freed', () => {
    const a = createArena({ megabytes: 4 });
    const held: Uint8Array[] = [];
    let error: unknown;
    try {
      for (;;) held.push(a.allocBlock(256 * 1024));
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ArenaExhaustedError);
    assert.equal(error.code, 'ASYNCTX_ERR_ARENA_EXHAUSTED');
    assert.match(error.message, /262144 bytes.*ASYNCTX_ARENA_MB/);
    assert.ok(held.length >= 7, `2 MiB of blocks fit (${held.length})`);
    a.freeBlock(held.pop()!);
    held.push(a.allocBlock(256 * 1024));
  });

  it('refuses to free what it did not hand out, or twice', () => {
    const a = createArena({ megabytes: 4 });
    const b = a.allocBlock(1000);
    const empty = a.allocBlock(0);
    assert.equal(empty.length, 0);
    assert.throws(() => a.freeBlock(b.subarray(64)), (e: unknown) => e instanceof ArenaFreeError && e.code === 'ASYNCTX_ERR_ARENA_BAD_FREE');
    assert.throws(() => a.freeBlock(new Uint8Array(1000)), ArenaFreeError);
    a.freeBlock(b);
    a.freeBlock(empty);
    assert.throws(() => a.freeBlock(b), ArenaFreeError);
    assert.throws(() => a.allocBlock(-1), InvalidArgumentError);
    assert.throws(() => a.allocBlock(1.5), InvalidArgumentError);
  });

  it('takes its size from ASYNCTX_ARENA_MB, and refuses bad sizes', () => {
    assert.equal(arenaMegabytesFromEnv({}), 512);
    assert.equal(arenaMegabytesFromEnv({ ASYNCTX_ARENA_MB: '64' }), 64);
    for (const bad of ['abc', '3', '1.5', '-8', '5000']) {
      assert.throws(() => arenaMegabytesFromEnv({ ASYNCTX_ARENA_MB: bad }), ArenaConfigError, bad);
    }
    assert.throws(() => createArena({ megabytes: 2 }), ArenaConfigError);
    assert.equal(createArena({ megabytes: 6 }).bytes, 6 * MiB);
  });

  it('starts with a versioned header and the multiply tables', () => {
    const a = createArena({ megabytes: 4 });
    const h = readArenaHeader(a.buffer);
    assert.equal(h.version, ARENA_LAYOUT_VERSION);
    assert.equal(h.bytes, 4 * MiB);
    assert.equal(h.dataOffset, 2 * MiB);
    assert.ok(h.scratch.offset >= h.tablesOffset + gfNibbleTableAll().length && h.scratch.offset + h.scratch.bytes <= h.dataOffset);
    assert.deepEqual(new Uint8Array(a.buffer, h.tablesOffset, gfNibbleTableAll().length), gfNibbleTableAll());
    assert.throws(() => readArenaHeader(new SharedArrayBuffer(4 * MiB)), ArenaConfigError);
    assert.throws(() => readArenaHeader(new ArrayBuffer(4 * MiB)), ArenaConfigError);
  });

  it('shares its memory and kernels with a worker thread, in place', async () => {
    const a = createArena({ megabytes: 8 });
    const n = 5000;
    const data = Array.from({ length: 6 }, (_, i) => {
      const b = a.allocBlock(n);
      b.set(randomBlock(n, i + 1));
      return b;
    });
    const p = a.allocBlock(n);
    const q = a.allocBlock(n);
    const scratch = a.allocBlock(1 << 20);
    // The worker instantiates the kernels on the same memory and runs gen_syndrome on the
    // blocks by offset: it sees the main thread's bytes, and the main thread sees its P and Q.
    const src = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.url).then(({ createWasmKernelSet }) => {
        const { memory, scratch, offs, p, q, n } = workerData;
        const k = createWasmKernelSet(memory, scratch);
        const view = (o) => new Uint8Array(memory.buffer, o, n);
        k.genSyndrome(offs.map(view), view(p), view(q));
        parentPort.postMessage(k.name);
      });`;
    const url = new URL('dist/src/kernels/wasm.js', `file://${repoRoot}`).href;
    const worker = new Worker(src, {
      eval: true,
      workerData: {
        url, memory: a.memory, scratch: { offset: scratch.byteOffset, bytes: scratch.length },
        offs: data.map((d) => d.byteOffset), p: p.byteOffset, q: q.byteOffset, n,
      },
    });
    const name = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.equal(name, 'wasm-simd');
    const ep = new Uint8Array(n);
    const eq = new Uint8Array(n);
    scalarKernels.genSyndrome(data, ep, eq);
    assert.deepEqual(p, ep);
    assert.deepEqual(q, eq);
  });
});
