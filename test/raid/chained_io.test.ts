/**
 * Stripes as chains with their member I/O: on worker engines the reads, the
 * parity and the writes of a stripe run off the main thread; a member fault
 * raised inside the engine marks that member faulty as on the main path, and
 * a worker killed under a stripe leaves the array correct.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient, type ClientOptions } from '../../src/index.js';
import { assemble, create, FileMember, MemberIOError, scrub, type Member } from '../../src/raid/index.js';
import { bytes } from './helpers.js';

const CHUNK = 64 * 1024;
const MEMBER = (2 << 20) + 8 * CHUNK;

describe('RAID stripes with their member I/O in the chain', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'asynctx-chained-io-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A RAID-6 of 6 file members written through `options`' client; returns what reads back and the client's counters. */
  async function roundTrip(name: string, options: ClientOptions, mutate?: (paths: string[]) => Promise<Member[]>) {
    const paths = Array.from({ length: 6 }, (_, i) => join(dir, `${name}-${i}.img`));
    const made = await create(await Promise.all(paths.map((p) => FileMember.create(p, MEMBER))), { level: 6, chunkBytes: CHUNK, assumeClean: true, ownsMembers: true, memberIo: 'chain' });
    await made.stop();
    const client = createClient(options);
    const members = mutate ? await mutate(paths) : await Promise.all(paths.map((p) => FileMember.open(p)));
    const { array } = await assemble(members, { ops: client, ownsMembers: true, cleanDelayMs: 0, memberIo: 'chain' });
    try {
      const data = bytes(3 * 4 * CHUNK + 12345, 7);
      // A full-stripe run, a partial stripe (read-modify-write or reconstruct-write) and a tail.
      await Promise.all([array.write(data.subarray(0, 8 * CHUNK), 0), array.write(data.subarray(8 * CHUNK), 8 * CHUNK)]);
      const back = new Uint8Array(data.length);
      await array.read(back, 0);
      assert.ok(Buffer.from(back).equals(Buffer.from(data)), 'reads back what was written');
      const check = array.slots.every((s) => s.state === 'in_sync') ? (await scrub(array, 'check')).mismatches : null;
      return { stats: client.stats(), array, check };
    } finally {
      await array.stop();
      await client.close();
    }
  }

  it('on a worker: member reads and writes run as engine steps beside the parity', async () => {
    const { stats, check } = await roundTrip('offload', { workers: 1, policy: 'offload' });
    assert.ok(stats.ops.io_write!.offloaded > 0, 'member writes ran on the worker');
    assert.ok(stats.ops.io_read!.offloaded > 0, 'member reads ran on the worker');
    assert.equal(stats.ops.io_write!.inline, 0);
    assert.equal(check, 0);
  });

  it('inline (no workers): the same chains on the main thread', async () => {
    const { stats, check } = await roundTrip('inline', { workers: 0 });
    assert.ok(stats.ops.io_write!.inline > 0);
    assert.equal(check, 0);
  });

  it('a write error inside the engine marks that member faulty; the data stays whole', async () => {
    // Member 2 hands the engines a read-only descriptor of its file: its superblock updates (main
    // thread) succeed, and the first data write the worker makes to it fails with EBADF.
    const { array, stats } = await roundTrip('ro-member', { workers: 1, policy: 'offload' }, (paths) =>
      Promise.all(
        paths.map(async (p, i) => {
          const m = await FileMember.open(p);
          if (i !== 2) return m;
          const ro = await FileMember.open(p, { readonly: true });
          const member: Member & { fd: number } = {
            name: m.name,
            size: m.size,
            fd: ro.fd,
            read: (b, pos) => m.read(b, pos),
            write: (b, pos) => m.write(b, pos),
            sync: () => m.sync(),
            close: () => Promise.all([m.close(), ro.close()]).then(() => undefined),
          };
          return member;
        }),
      ),
    );
    assert.equal(array.slots[2]!.state, 'faulty');
    assert.ok(array.errors.some((e) => e instanceof MemberIOError && e.slot === 2), array.errors.map(String).join('; '));
    assert.ok(stats.ops.io_write!.errors > 0, `the failure was raised by an I/O step: ${JSON.stringify(stats.ops)} ${array.errors.map(String).join('; ')}`);
  });

  let crashes = 0;
  it('a worker killed under a stripe write: the stripe re-runs elsewhere, no write lost, parity clean', async () => {
    const { stats, check } = await roundTrip('crash', { workers: 1, policy: 'offload', faults: { rules: [{ action: 'crash', op: 'io_write', match: () => crashes++ === 0 }] } });
    assert.equal(stats.faults!['fault:worker']!.crashed, 1);
    assert.equal(check, 0);
  });
});
