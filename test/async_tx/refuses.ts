/** Shared by the misuse and regression tests: a call must be refused with a typed usage error, having written nothing. */
import assert from 'node:assert/strict';
import { AsyncTxError, UsageError } from '../../src/index.js';

export const b = (n = 16, v = 0x5a): Uint8Array => new Uint8Array(n).fill(v);

/** Runs `call` on fresh buffers and checks it throws `type` matching `message` and wrote nothing. */
export function refuses(call: (bufs: Uint8Array[]) => unknown, type: new (...a: never[]) => Error, message: RegExp, count = 6): void {
  const bufs = Array.from({ length: count }, (_, i) => b(16, i + 1));
  const before = bufs.map((x) => x.slice());
  assert.throws(() => call(bufs), (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.ok(err instanceof UsageError && err instanceof AsyncTxError);
    assert.match((err as Error).message, message);
    assert.match((err as AsyncTxError).code, /^ASYNCTX_ERR_/);
    return true;
  });
  assert.deepEqual(bufs, before, 'nothing written');
}
