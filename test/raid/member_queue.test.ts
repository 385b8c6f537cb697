/** Request merging per member: what goes out as one vectored request, and what each caller sees. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemberQueue, MemoryMember } from '../../src/raid/index.js';
import { bytes } from './helpers.js';

/** A memory member that records each request it is given: [kind, position, length]. */
class Recording extends MemoryMember {
  readonly log: Array<[string, number, number]> = [];
  override read(buf: Uint8Array, position: number): Promise<void> {
    this.log.push(['read', position, buf.length]);
    return super.read(buf, position);
  }
  override write(buf: Uint8Array, position: number): Promise<void> {
    this.log.push(['write', position, buf.length]);
    return super.write(buf, position);
  }
  override readv(bufs: readonly Uint8Array[], position: number): Promise<void> {
    this.log.push(['readv', position, bufs.reduce((n, b) => n + b.length, 0)]);
    return super.readv(bufs, position);
  }
  override writev(bufs: readonly Uint8Array[], position: number): Promise<void> {
    this.log.push(['writev', position, bufs.reduce((n, b) => n + b.length, 0)]);
    return super.writev(bufs, position);
  }
}

describe('MemberQueue', () => {
  it('merges requests of one turn that meet end to end, in any submission order, one direction at a time', async () => {
    const m = new Recording('m', 1 << 16);
    const q = new MemberQueue(m);
    const data = bytes(12288, 1);
    // Out of order, with a gap at 16384 and a read among them.
    const out = new Uint8Array(4096);
    m.data.set(bytes(4096, 2), 40960);
    await Promise.all([
      q.submit(true, data.subarray(8192), 8192),
      q.submit(true, data.subarray(0, 4096), 0),
      q.submit(false, out, 40960),
      q.submit(true, data.subarray(4096, 8192), 4096),
      q.submit(true, data.subarray(0, 512), 20480),
    ]);
    assert.deepEqual(m.log, [
      ['read', 40960, 4096],
      ['writev', 0, 12288],
      ['write', 20480, 512],
    ]);
    assert.ok(Buffer.from(m.data.subarray(0, 12288)).equals(Buffer.from(data)));
    assert.ok(Buffer.from(out).equals(Buffer.from(bytes(4096, 2))));
    assert.deepEqual(q.stats, { requests: 5, issued: 3, bytes: 12288 + 4096 + 512 });
  });

  it('reads merge into one readv that fills each caller buffer', async () => {
    const m = new Recording('m', 1 << 16);
    m.data.set(bytes(1 << 16, 3));
    const q = new MemberQueue(m);
    const bufs = [new Uint8Array(1000), new Uint8Array(3096), new Uint8Array(5000)];
    await Promise.all([q.submit(false, bufs[1]!, 1000), q.submit(false, bufs[0]!, 0), q.submit(false, bufs[2]!, 4096)]);
    assert.deepEqual(m.log, [['readv', 0, 9096]]);
    assert.ok(Buffer.concat(bufs).equals(Buffer.from(m.data.subarray(0, 9096))));
  });

  it('a batch reaching maxBytes goes out at once, split into requests of at most maxBytes', async () => {
    const m = new Recording('m', 1 << 16);
    const q = new MemberQueue(m, { maxBytes: 8192 });
    const p1 = q.submit(true, new Uint8Array(4096), 0);
    assert.equal(m.log.length, 0, 'below maxBytes: waits for the end of the turn');
    const p2 = q.submit(true, new Uint8Array(4096), 4096);
    assert.deepEqual(m.log, [['writev', 0, 8192]], 'issued synchronously once the batch holds maxBytes');
    const p3 = q.submit(true, new Uint8Array(4096), 8192);
    await Promise.all([p1, p2, p3]);
    assert.deepEqual(m.log, [
      ['writev', 0, 8192],
      ['write', 8192, 4096],
    ]);
    const q2 = new MemberQueue(m, { maxBytes: 1 << 20, maxSegments: 2 });
    m.log.length = 0;
    await Promise.all([0, 1, 2].map((i) => q2.submit(true, new Uint8Array(512), i * 512)));
    assert.deepEqual(m.log, [
      ['writev', 0, 1024],
      ['write', 1024, 512],
    ]);
  });

  it('a failed merged request fails every request it carried, and only those', async () => {
    const m = new MemoryMember('m', 1 << 16);
    m.faults.write = (pos) => pos === 0;
    const q = new MemberQueue(m);
    const results = await Promise.allSettled([
      q.submit(true, new Uint8Array(512), 0),
      q.submit(true, new Uint8Array(512), 512),
      q.submit(true, new Uint8Array(512), 4096),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'fulfilled'],
    );
    assert.match(String((results[0] as PromiseRejectedResult).reason), /injected write error at byte 0/);
  });

  it('members without vectored I/O get one request per buffer', async () => {
    const inner = new MemoryMember('m', 1 << 16);
    const calls: number[] = [];
    const plain = {
      name: 'plain',
      size: inner.size,
      read: (b: Uint8Array, p: number) => inner.read(b, p),
      write: (b: Uint8Array, p: number) => (calls.push(p), inner.write(b, p)),
      sync: () => inner.sync(),
      close: () => inner.close(),
    };
    const q = new MemberQueue(plain);
    const data = bytes(2048, 4);
    await Promise.all([q.submit(true, data.subarray(0, 1024), 0), q.submit(true, data.subarray(1024), 1024)]);
    assert.deepEqual(calls, [0, 1024]);
    assert.ok(Buffer.from(inner.data.subarray(0, 2048)).equals(Buffer.from(data)));
  });
});
