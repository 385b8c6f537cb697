/** asyncIoRead / asyncIoWrite: I/O steps in chains, on the main-thread path and on worker engines. */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  allocBlock, asyncIoRead, asyncIoWrite, asyncXor, createClient, DependencyFailedError, DmaStatus, fdTarget, freeBlock, InvalidArgumentError,
  IoError, OutOfRangeError, OverlapError, TxFlags, waitForAsyncTx, type IoTarget,
} from '../../src/index.js';
import { randomBlock } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'asynctx-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: number): { path: string; target: IoTarget; close: () => void } {
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(bytes));
  const fd = openSync(path, 'r+');
  return { path, target: fdTarget(fd, name), close: () => closeSync(fd) };
}

/** A target no thread but the main one reaches (like an in-memory or NBD member). */
function memoryTarget(bytes: Uint8Array): IoTarget {
  return {
    name: 'memory',
    fd: null,
    read: (dest, pos, done) => setImmediate(() => (pos + dest.length > bytes.length ? done(new Error('past the end')) : (dest.set(bytes.subarray(pos, pos + dest.length)), done(null)))),
    write: (src, pos, done) => setImmediate(() => (bytes.set(src, pos), done(null))),
  };
}

describe('asyncIoRead / asyncIoWrite on the main-thread path', () => {
  it('writes and reads back several targets, never completing inside the call', async () => {
    const a = file('a.img', 65536);
    const b = file('b.img', 65536);
    const data = [randomBlock(4096, 1), randomBlock(4096, 2)];
    let called = 0;
    const w = asyncIoWrite(data, [a.target, b.target], [8192, 0], 0, 4096, { callback: () => called++ });
    assert.equal(w.status, DmaStatus.InProgress);
    await waitForAsyncTx(w);
    assert.equal(called, 1);
    assert.deepEqual(readFileSync(a.path).subarray(8192, 12288), Buffer.from(data[0]!));
    const back = [new Uint8Array(4096 + 3), new Uint8Array(4096 + 3)];
    const r = asyncIoRead(back, [a.target, b.target], [8192, 0], 3, 4096);
    await waitForAsyncTx(r);
    assert.deepEqual(back[0]!.subarray(3), data[0]);
    assert.deepEqual(back[1]!.subarray(3), data[1]);
    assert.equal(r.channel, 'host-io/0');
    a.close();
    b.close();
  });

  it('chains: read → xor → write, each step after its parent', async () => {
    const t = file('chain.img', 3 * 4096);
    const x = randomBlock(4096, 3);
    const y = randomBlock(4096, 4);
    writeFileSync(t.path, Buffer.concat([Buffer.from(x), Buffer.from(y), Buffer.alloc(4096)]));
    const bx = new Uint8Array(4096);
    const by = new Uint8Array(4096);
    const r = asyncIoRead([bx, by], [t.target, t.target], [0, 4096], 0, 4096);
    const p = new Uint8Array(4096);
    const c = asyncXor(p, [bx, by], 0, 4096, { flags: TxFlags.XorZeroDst, depend: r });
    const w = asyncIoWrite([p], [t.target], [8192], 0, 4096, { depend: c });
    await waitForAsyncTx(w);
    const on = readFileSync(t.path).subarray(8192);
    for (let i = 0; i < 4096; i++) assert.equal(on[i], x[i]! ^ y[i]!);
    t.close();
  });

  it('a failed read is an IoError naming the target, and fails its dependent', async () => {
    const t = file('short.img', 4096);
    const buf = new Uint8Array(4096);
    const r = asyncIoRead([buf], [t.target], [2048], 0, 4096);
    const c = asyncXor(new Uint8Array(4096), [buf, buf], 0, 4096, { depend: r });
    await assert.rejects(waitForAsyncTx(r), (e: unknown) => e instanceof IoError && e.target === t.target && /short read/.test(e.message));
    await assert.rejects(waitForAsyncTx(c), DependencyFailedError);
    t.close();
  });

  it('a system error keeps its code (EBADF on a closed descriptor)', async () => {
    const t = file('closed.img', 4096);
    t.close();
    const r = asyncIoWrite([new Uint8Array(512)], [t.target], [0], 0, 512);
    await assert.rejects(waitForAsyncTx(r), (e: unknown) => e instanceof IoError && e.systemCode === 'EBADF');
  });

  it('refuses bad input before any transfer starts', () => {
    const bytes = new Uint8Array(4096);
    const m = memoryTarget(bytes);
    const b = new Uint8Array(512);
    assert.throws(() => asyncIoRead([], [], [], 0, 512), InvalidArgumentError);
    assert.throws(() => asyncIoRead([b], [m, m], [0], 0, 512), InvalidArgumentError);
    assert.throws(() => asyncIoRead([b], [{ name: 'x' } as unknown as IoTarget], [0], 0, 512), InvalidArgumentError);
    assert.throws(() => asyncIoRead([b], [m], [-1], 0, 512), InvalidArgumentError);
    assert.throws(() => asyncIoRead([b], [m], [2 ** 53], 0, 512), InvalidArgumentError);
    assert.throws(() => asyncIoRead([b], [m], [0], 1, 512), OutOfRangeError);
    assert.throws(() => asyncIoRead([b, b], [m, m], [0, 512], 0, 512), OverlapError);
    // Writing the same bytes to two places is a mirror, not an overlap.
    assert.doesNotThrow(() => asyncIoWrite([b, b], [m, m], [0, 512], 0, 512));
    assert.throws(() => asyncIoRead(new Array(65).fill(b), new Array(65).fill(m), new Array(65).fill(0), 0, 1), InvalidArgumentError);
  });
});

describe('I/O steps on worker engines', () => {
  it('a worker reaches file targets through their descriptors, on arena blocks in place', async () => {
    const client = createClient({ workers: 1, policy: 'offload' });
    const t = file('worker.img', 1 << 20);
    const src = allocBlock(65536);
    src.set(randomBlock(65536, 5));
    const dst = allocBlock(65536);
    try {
      const w = client.asyncIoWrite([src], [t.target], [131072], 0, 65536);
      const r = client.asyncIoRead([dst], [t.target], [131072], 0, 65536, { depend: w });
      await client.waitForAsyncTx(r);
      assert.match(w.channel, /^worker/);
      assert.match(r.channel, /^worker/);
      assert.deepEqual(dst, src);
      assert.deepEqual(readFileSync(t.path).subarray(131072, 196608), Buffer.from(src));
    } finally {
      freeBlock(src);
      freeBlock(dst);
      t.close();
      await client.close();
    }
  });

  it('bounces buffers outside the arena, and keeps targets without a descriptor on the main thread', async () => {
    const client = createClient({ workers: 1, policy: 'offload' });
    const t = file('bounce.img', 65536);
    const mem = new Uint8Array(65536);
    const m = memoryTarget(mem);
    try {
      const data = randomBlock(4096, 6);
      const w = client.asyncIoWrite([data, data], [t.target, m], [4096, 4096], 0, 4096);
      await client.waitForAsyncTx(w);
      assert.equal(w.channel, 'host-io/0');
      const w2 = client.asyncIoWrite([data], [t.target], [0], 0, 4096);
      const back = new Uint8Array(4096);
      const r = client.asyncIoRead([back], [t.target], [0], 0, 4096, { depend: w2 });
      await client.waitForAsyncTx(r);
      assert.match(r.channel, /^worker/);
      assert.deepEqual(back, data);
      assert.deepEqual(mem.subarray(4096, 8192), data);
    } finally {
      t.close();
      await client.close();
    }
  });

  it('an I/O error inside a worker is an IoError with the system code and the failing target, not re-run', async () => {
    const client = createClient({ workers: 1, policy: 'offload' });
    const good = file('good.img', 8192);
    const small = file('small.img', 4096);
    try {
      const bufs = [allocBlock(4096), allocBlock(4096)];
      const r = client.asyncIoRead(bufs, [good.target, small.target], [4096, 4096], 0, 4096);
      await assert.rejects(client.waitForAsyncTx(r), (e: unknown) => e instanceof IoError && e.target === small.target && /short read/.test(e.message));
      assert.match(r.channel, /^worker/);
      const ro = openSync(good.path, 'r');
      const w = client.asyncIoWrite([bufs[0]!], [fdTarget(ro, 'read-only')], [0], 0, 4096);
      await assert.rejects(client.waitForAsyncTx(w), (e: unknown) => e instanceof IoError && e.systemCode === 'EBADF' && e.target.name === 'read-only');
      closeSync(ro);
      bufs.forEach(freeBlock);
    } finally {
      good.close();
      small.close();
      await client.close();
    }
  });
});
