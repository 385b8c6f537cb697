/** createClient regressions found with bad options; each test is named after the bug it pins. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createClient, DependencyFailedError, DmaStatus, InvalidArgumentError, OperationError, type ClientOptions,
} from '../../src/index.js';

/** Resolves with 'closed', or 'hung' if close() takes longer than `ms`. */
function closesWithin(close: Promise<void>, ms = 5000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  return Promise.race([close.then(() => 'closed'), hung]).finally(() => clearTimeout(timer));
}

describe('regressions: createClient', () => {
  it('regression: a custom policy returning a non-channel threw TypeError and wedged close()', async () => {
    const answers: Array<[string, () => unknown, new (...a: never[]) => Error, RegExp]> = [
      ['an object', () => ({}), InvalidArgumentError, /options\.policy returned object for memcpy/],
      ['a string', () => 'worker/0', InvalidArgumentError, /options\.policy returned the string "worker\/0"/],
      ['undefined', () => undefined, InvalidArgumentError, /options\.policy returned undefined/],
      ['a throw', () => { throw new Error('policy bug'); }, OperationError, /policy threw: Error: policy bug/],
    ];
    for (const [what, answer, type, message] of answers) {
      const c = createClient({ workers: 1, policy: answer as unknown as ClientOptions['policy'] });
      const dest = new Uint8Array(64);
      const src = new Uint8Array(64).fill(7);
      let called: Error | undefined;
      const tx = c.asyncMemcpy(dest, src, 0, 0, 64, { callback: (e) => (called = e) });
      assert.equal(tx.status, DmaStatus.Error, what);
      assert.ok(tx.error instanceof type, `${what}: ${String(tx.error)}`);
      assert.match(tx.error.message, message);
      assert.deepEqual(dest, new Uint8Array(64), `${what}: nothing written`);
      // A dependent fails too rather than waiting for ever.
      const child = c.asyncTriggerCallback({ depend: tx });
      await assert.rejects(c.waitForAsyncTx(child), (e: unknown) => e instanceof DependencyFailedError || e instanceof type);
      await assert.rejects(c.waitForAsyncTx(tx), type);
      await Promise.resolve();
      assert.ok(called instanceof type, `${what}: callback got the error`);
      assert.equal(c.stats().pending, 0, `${what}: no descriptor left registered`);
      assert.equal(await closesWithin(c.close()), 'closed', what);
    }
  });

  it('regression: a custom policy returning a channel it was offered still works', async () => {
    const c = createClient({ workers: 1, policy: (_op, where) => where.channels[0] ?? null });
    const dest = new Uint8Array(64);
    const tx = c.asyncMemset(dest, 9, 0, 64);
    await c.waitForAsyncTx(tx);
    assert.equal(tx.channel, 'worker/0');
    assert.deepEqual(dest, new Uint8Array(64).fill(9));
    assert.equal(await closesWithin(c.close()), 'closed');
  });

  it('regression: unknown keys under engine were ignored while unknown top-level keys were refused', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ engine: { capcity: 256 } }, /unknown option "engine\.capcity"/],
      [{ engine: { batch: 16, spin: 1 } }, /unknown option "engine\.spin"/],
      [{ engine: { capacity: '256' } }, /options\.engine\.capacity must be a number/],
      [{ engine: { capacity: 2n } }, /options\.engine\.capacity must be a number/],
      [{ enigne: {} }, /unknown option "enigne"/],
      [{ workers: 2n }, /options\.workers must be/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => createClient(options as ClientOptions), (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message), JSON.stringify(Object.keys(options as object)));
    }
  });

  it('regression: known engine keys are still accepted', async () => {
    const c = createClient({ workers: 1, engine: { capacity: 64, batch: 8, moderation: 4, lowWater: 1, spinUs: 10 } });
    assert.equal(await closesWithin(c.close()), 'closed');
  });
});
