/**
 * The worker entry against the ring protocol directly: a hand-written slot
 * runs, a bad one completes with an error (not a crash) and the thread goes
 * on, and a ring of another layout version is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { arena, kernels, MIN_SCRATCH_BYTES } from '../../src/provider.js';
import {
  H_CAPACITY, H_DOORBELL, H_HEAD, H_MODERATION, H_NOTIFY, H_STOP, H_TAIL, H_VERSION, NULL_BLOCK, Opcode, RING_LAYOUT_VERSION,
  ringBytes, S_ARG0, S_BLOCKS, S_ERROR_TEXT, S_LEN, S_NBLOCKS, S_OP, S_RESULT, S_STATUS, slotBase, SlotStatus, type WorkerInit,
} from '../../src/drivers/worker/protocol.js';

const workerUrl = new URL('../../src/drivers/worker/worker.js', import.meta.url);

function start(version = RING_LAYOUT_VERSION): { ring: Int32Array; worker: Worker; scratch: Uint8Array } {
  const sab = new SharedArrayBuffer(ringBytes(8));
  const ring = new Int32Array(sab);
  ring[H_VERSION] = version;
  ring[H_CAPACITY] = 8;
  ring[H_MODERATION] = 1;
  const scratch = arena().allocBlock(MIN_SCRATCH_BYTES);
  const init: WorkerInit = {
    version,
    ring: sab,
    memory: arena().memory,
    scratch: { offset: scratch.byteOffset, bytes: scratch.length },
    kernels: Object.fromEntries(kernels().map((c) => [c.op, c.impl])),
    name: 'test/0',
  };
  return { ring, worker: new Worker(workerUrl, { workerData: init }), scratch };
}

/** Publishes `n` more slots and waits until the worker completed them (snapshot, then check, then wait). */
async function publish(ring: Int32Array, head: number): Promise<void> {
  Atomics.store(ring, H_HEAD, head);
  Atomics.add(ring, H_DOORBELL, 1);
  Atomics.notify(ring, H_DOORBELL);
  for (;;) {
    const seq = Atomics.load(ring, H_NOTIFY);
    if (Atomics.load(ring, H_TAIL) === head) return;
    const w = Atomics.waitAsync(ring, H_NOTIFY, seq, 5000);
    if (w.async && (await w.value) === 'timed-out') throw new Error('worker did not complete the slot');
  }
}

async function stop(ring: Int32Array, worker: Worker, scratch: Uint8Array): Promise<void> {
  Atomics.store(ring, H_STOP, 1);
  Atomics.add(ring, H_DOORBELL, 1);
  Atomics.notify(ring, H_DOORBELL);
  await new Promise((resolve) => worker.once('exit', resolve));
  arena().freeBlock(scratch);
}

describe('worker protocol', () => {
  it('runs a hand-written slot; a bad one completes with an error and the thread goes on', async () => {
    const { ring, worker, scratch } = start();
    const dest = arena().allocBlock(32);
    try {
      let base = slotBase(0, 8);
      ring[base + S_OP] = Opcode.Memset;
      ring[base + S_LEN] = 32;
      ring[base + S_NBLOCKS] = 1;
      ring[base + S_ARG0] = 0x42;
      ring[base + S_BLOCKS] = dest.byteOffset;
      await publish(ring, 1);
      assert.equal(ring[base + S_STATUS], SlotStatus.Complete);
      assert.ok(dest.every((v) => v === 0x42));

      base = slotBase(1, 8);
      ring[base + S_OP] = 99;
      ring[base + S_NBLOCKS] = 0;
      base = slotBase(2, 8);
      ring[base + S_OP] = Opcode.Memcpy;
      ring[base + S_LEN] = 32;
      ring[base + S_NBLOCKS] = 2;
      ring[base + S_BLOCKS] = dest.byteOffset;
      ring[base + S_BLOCKS + 1] = NULL_BLOCK | 0;
      await publish(ring, 3);
      const text = (slot: number): string => {
        const b = slotBase(slot, 8);
        return Buffer.from(ring.buffer, (b + S_ERROR_TEXT) * 4, ring[b + S_RESULT]).toString();
      };
      assert.equal(ring[slotBase(1, 8) + S_STATUS], SlotStatus.Error);
      assert.equal(text(1), 'unknown opcode 99');
      assert.equal(ring[slotBase(2, 8) + S_STATUS], SlotStatus.Error);
      assert.equal(text(2), 'src is null');
    } finally {
      arena().freeBlock(dest);
      await stop(ring, worker, scratch);
    }
  });

  it('refuses a ring of another layout version', async () => {
    const { worker, scratch } = start(RING_LAYOUT_VERSION + 1);
    // Both listeners before anything can fire: the thread errors and exits on its own, and an
    // 'exit' listened for only after 'error' may already have been emitted.
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    const err = await new Promise<Error>((resolve) => worker.once('error', resolve));
    assert.match(err.message, /ring layout version \d+, this worker reads \d+/);
    await exited;
    arena().freeBlock(scratch);
  });
});
