/** isComplete follows dma_async_is_complete, wrap-around included (semantics 8). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DmaStatus, isComplete } from '../../src/index.js';
import { DMA_MAX_COOKIE, nextCookie } from '../../src/dmaengine/cookie.js';

describe('cookies', () => {
  it('start at 1 and wrap from the largest signed 32-bit value to 1', () => {
    assert.equal(nextCookie(0), 1);
    assert.equal(nextCookie(1), 2);
    assert.equal(nextCookie(DMA_MAX_COOKIE), 1);
    assert.equal(nextCookie(-5), 1);
  });

  it('isComplete without wrap: done up to lastComplete, and anything past lastUsed', () => {
    assert.equal(isComplete(5, 10, 20), DmaStatus.Complete);
    assert.equal(isComplete(10, 10, 20), DmaStatus.Complete);
    assert.equal(isComplete(11, 10, 20), DmaStatus.InProgress);
    assert.equal(isComplete(20, 10, 20), DmaStatus.InProgress);
    assert.equal(isComplete(21, 10, 20), DmaStatus.Complete);
  });

  it('isComplete across wrap-around (lastUsed wrapped past lastComplete)', () => {
    const lastComplete = DMA_MAX_COOKIE - 2;
    const lastUsed = 3;
    assert.equal(isComplete(DMA_MAX_COOKIE - 3, lastComplete, lastUsed), DmaStatus.Complete);
    assert.equal(isComplete(DMA_MAX_COOKIE - 2, lastComplete, lastUsed), DmaStatus.Complete);
    assert.equal(isComplete(DMA_MAX_COOKIE - 1, lastComplete, lastUsed), DmaStatus.InProgress);
    assert.equal(isComplete(DMA_MAX_COOKIE, lastComplete, lastUsed), DmaStatus.InProgress);
    assert.equal(isComplete(1, lastComplete, lastUsed), DmaStatus.InProgress);
    assert.equal(isComplete(3, lastComplete, lastUsed), DmaStatus.InProgress);
    assert.equal(isComplete(4, lastComplete, lastUsed), DmaStatus.Complete);
  });

  it('agrees with a model of a channel that submits and completes in order, through wrap', () => {
    fc.assert(
      fc.property(fc.integer({ min: DMA_MAX_COOKIE - 40, max: DMA_MAX_COOKIE }), fc.nat(60), fc.nat(60), (start, used, done) => {
        const issued: number[] = [];
        let c = start;
        for (let i = 0; i < used; i++) issued.push((c = nextCookie(c)));
        const completed = Math.min(done, used);
        const lastUsed = used ? issued[used - 1] : start;
        const lastComplete = completed ? issued[completed - 1] : start;
        issued.forEach((cookie, i) => {
          assert.equal(isComplete(cookie, lastComplete, lastUsed), i < completed ? DmaStatus.Complete : DmaStatus.InProgress);
        });
      }),
    );
  });
});
