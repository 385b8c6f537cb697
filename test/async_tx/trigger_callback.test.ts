/** asyncTriggerCallback: a descriptor that only completes — after its parent — and calls back, once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  asyncTriggerCallback, createClient, DependencyFailedError, DmaStatus, TxFlags, UnknownFlagError,
} from '../../src/index.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('asyncTriggerCallback', () => {
  it('without a parent: complete on return, its callback later, once, with no error', async () => {
    const calls: unknown[][] = [];
    const tx = asyncTriggerCallback({ callback: (...a: unknown[]) => calls.push(a) });
    assert.equal(tx.status, DmaStatus.Complete);
    assert.equal(tx.op, 'interrupt');
    assert.equal(calls.length, 0, 'never inside the submitting call');
    await turn();
    assert.deepEqual(calls, [[]]);
  });

  it('waits for an engine parent, then completes and calls back', async () => {
    const c = createClient({ workers: 1, policy: 'offload' });
    try {
      const dest = new Uint8Array(4096);
      let seen = -1;
      const parent = c.asyncMemset(dest, 4, 0, dest.length);
      const t = c.asyncTriggerCallback({ depend: parent, callback: () => (seen = dest[4095]) });
      assert.equal(t.status, DmaStatus.InProgress, 'not before its parent');
      await c.waitForAsyncTx(t);
      await turn();
      assert.equal(parent.status, DmaStatus.Complete);
      assert.equal(seen, 4, "the parent's bytes are there when it calls back");
    } finally {
      await c.close();
    }
  });

  it('fails with DependencyFailedError when its parent failed, and passes that error to its callback', async () => {
    // A policy that throws fails the descriptor it was asked about: here only the memset.
    const c = createClient({
      workers: 1,
      policy: (op) => {
        if (op.kind === 'memset') throw new Error('no memset today');
        return null;
      },
    });
    try {
      const errors: Array<Error | undefined> = [];
      const parent = c.asyncMemset(new Uint8Array(8), 1, 0, 8);
      const t = c.asyncTriggerCallback({ depend: parent, callback: (e) => errors.push(e) });
      await assert.rejects(c.waitForAsyncTx(t), DependencyFailedError);
      await turn();
      assert.equal(parent.status, DmaStatus.Error);
      assert.equal(t.status, DmaStatus.Error);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof DependencyFailedError && errors[0].cause === parent.error);
    } finally {
      await c.close();
    }
  });

  it('honours Ack and Fence, refuses operation flags', () => {
    assert.equal(asyncTriggerCallback({ flags: TxFlags.Ack | TxFlags.Fence }).acked, true);
    assert.throws(() => asyncTriggerCallback({ flags: TxFlags.XorZeroDst }), UnknownFlagError);
  });
});
