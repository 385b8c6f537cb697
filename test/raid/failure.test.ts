/**
 * Members failing under a write workload: I/O errors mark them faulty, the
 * array goes on degraded, every acknowledged write reads back, and a rebuild
 * onto a replacement (interrupted and resumed) brings parity back in sync.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble, MemberIOError, MemoryMember, rebuild, scrub } from '../../src/raid/index.js';
import { bytes, memoryArray } from './helpers.js';

const CHUNK = 16 * 1024;

async function workload(level: number, failures: number, seed: number) {
  const n = 6;
  const { array, members } = await memoryArray(n, (1 << 20) + 24 * CHUNK, { level, layout: 2, chunkBytes: CHUNK, unit: 8192 });
  const model = new Uint8Array(array.size);
  const acked: Array<[number, number]> = [];
  const victims = [(seed % n), ((seed + 3) % n)].slice(0, failures);
  const failAt = [5 + (seed % 7), 12 + (seed % 5)];
  for (let i = 0; i < 24; i++) {
    victims.forEach((v, k) => {
      // The member starts failing every write (and read) from here on, like a dying disk.
      if (i === failAt[k]) members[v]!.faults = { write: () => true, read: () => true };
    });
    const at = ((i * 104729 + seed * 31) % (array.size - 50000)) | 0;
    const len = 1000 + ((i * 7919) % 45000);
    const d = bytes(len, seed * 100 + i);
    await array.write(d, at);
    model.set(d, at);
    acked.push([at, len]);
  }
  return { array, members, model, victims, n };
}

for (const [level, failures] of [[5, 1], [6, 1], [6, 2]] as const) {
  describe(`RAID-${level} with ${failures} member failure(s) during writes`, () => {
    for (const seed of [1, 2, 3]) {
      it(`seed ${seed}: errors reported, data intact, rebuild restores parity`, async () => {
        const { array, members, model, victims, n } = await workload(level, failures, seed);
        assert.equal(array.errors.length >= failures, true);
        assert.ok(array.errors.every((e) => e instanceof MemberIOError));
        victims.forEach((v) => assert.equal(array.slots[v]!.state, 'faulty'));
        const got = new Uint8Array(array.size);
        await array.read(got, 0);
        assert.ok(Buffer.from(got).equals(Buffer.from(model)), 'degraded read differs from acknowledged data');
        // Replace the failed members.
        for (const v of victims) await array.remove(v);
        for (const v of victims) await array.add(new MemoryMember(`new${v}`, members[v]!.size));
        const r = await rebuild(array);
        assert.deepEqual([...r.slots].sort(), [...victims].sort());
        assert.equal((await scrub(array, 'check')).mismatches, 0);
        await array.stop();
        // The replacements carry the data: drop two original members and read again.
        const replacement = array.slots.map((s) => s.device!.member);
        const survivors = replacement.filter((_, i) => !victims.includes(i)).slice(level === 6 ? 2 : 1);
        const { array: again } = await assemble([...survivors, ...victims.map((v) => replacement[v]!)], { readonly: true });
        const back = new Uint8Array(array.size);
        await again.read(back, 0);
        assert.ok(Buffer.from(back).equals(Buffer.from(model)));
        assert.equal(n, replacement.length);
      });
    }
  });
}

describe('interrupted rebuild', () => {
  it('records recovery_offset in the superblock and resumes from it', async () => {
    const { array, members } = await memoryArray(5, (1 << 20) + 64 * CHUNK, { level: 6, layout: 2, chunkBytes: CHUNK, unit: 4096, cacheStripes: 8 });
    const data = bytes(array.size, 42);
    await array.write(data, 0);
    await array.fail(2);
    await array.remove(2);
    const fresh = new MemoryMember('fresh', members[2]!.size);
    await array.add(fresh);
    const stop = new AbortController();
    const first = await rebuild(array, { signal: stop.signal, checkpointBytes: 32 * 1024, progress: (done, total) => done > total / 3 && stop.abort() });
    assert.equal(first.aborted, true);
    const reached = array.slots[2]!.recoveryOffset;
    assert.ok(reached > 0 && reached < array.componentSectors);
    await array.stop();
    // A new process: assembly finds slot 2 recovering from the checkpoint.
    const { array: again } = await assemble([members[0]!, fresh, members[4]!, members[1]!, members[3]!]);
    assert.equal(again.slots[2]!.state, 'recovering');
    assert.equal(again.slots[2]!.recoveryOffset, reached);
    const before = fresh.writes;
    const second = await rebuild(again);
    assert.equal(second.aborted, false);
    assert.ok(second.bytes <= (again.componentSectors - reached) * 512 + again.unit, 'resumed, not restarted');
    assert.ok(fresh.writes > before);
    assert.equal(again.slots[2]!.state, 'in_sync');
    assert.equal((await scrub(again, 'check')).mismatches, 0);
    await again.stop();
    // Slot 2 now holds real data: read with two other members missing.
    const { array: deg } = await assemble([fresh, members[0]!, members[1]!], { readonly: true });
    const back = new Uint8Array(array.size);
    await deg.read(back, 0);
    assert.ok(Buffer.from(back).equals(Buffer.from(data)));
  });
});
