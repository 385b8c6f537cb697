/**
 * Replies (replies.ts): a message goes out as one corked write, and a READ's
 * `written` callback — which hands the buffer back to the pool — runs only
 * once the socket has taken the data, never while it still sits in the
 * socket's queue.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Replies } from '../../src/nbd/replies.js';

/** A socket stand-in whose writes complete only when the test says so; records each write call's buffers. */
function slowSocket() {
  const calls: Buffer[][] = [];
  const waiting: Array<() => void> = [];
  const sock = new Writable({
    writev(chunks, cb) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      waiting.push(() => cb());
    },
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk]);
      waiting.push(() => cb());
    },
  });
  const release = () => waiting.splice(0).forEach((f) => f());
  return { sock: sock as unknown as Socket, calls, release };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('NBD replies', () => {
  it('a structured data chunk is one vectored write (header with offset, then the data); written runs after the socket took it', async () => {
    const { sock, calls, release } = slowSocket();
    const out = new Replies(sock, true);
    const data = Buffer.alloc(64 << 10, 7);
    let written = false;
    out.data(Buffer.alloc(8, 1), 4096, data, true, () => (written = true));
    await tick();
    assert.equal(calls.length, 1, 'header and data must leave in one write');
    assert.equal(calls[0]!.length, 2);
    assert.equal(calls[0]![0]!.length, 28, 'structured header (20) + offset (8)');
    assert.equal(calls[0]![0]!.readBigUInt64BE(20), 4096n);
    assert.equal(calls[0]![0]!.readUInt32BE(16), 8 + data.length);
    assert.equal(calls[0]![1], data);
    assert.equal(written, false, 'the buffer was handed back while the socket still held it');
    release();
    await tick();
    assert.equal(written, true);
  });

  it('a simple READ reply: the same for its data; a reply without data needs no callback wait', async () => {
    const { sock, calls, release } = slowSocket();
    const out = new Replies(sock, false);
    let written = false;
    out.simple(Buffer.alloc(8, 2), 0, Buffer.alloc(8192), () => (written = true));
    await tick();
    assert.equal(calls.length, 1);
    assert.equal(written, false);
    release();
    await tick();
    assert.equal(written, true);
    let bare = false;
    out.simple(Buffer.alloc(8, 3), 0, undefined, () => (bare = true));
    assert.equal(bare, true);
  });

  it('on a destroyed socket nothing is written and the buffer is free at once', () => {
    const { sock, calls } = slowSocket();
    (sock as unknown as Writable).destroy();
    let written = false;
    new Replies(sock, true).data(Buffer.alloc(8), 0, Buffer.alloc(4096), true, () => (written = true));
    assert.equal(calls.length, 0);
    assert.equal(written, true);
  });
});
