/**
 * Worker threads never keep a process alive by themselves, yet a process
 * awaiting offloaded work is kept alive until it completes. Each case runs a
 * child `node` importing the compiled package; a hang fails on the timeout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers.js';

const entry = pathToFileURL(`${repoRoot}dist/src/index.js`).href;

function runChild(body: string): Promise<{ code: number | null; out: string; ms: number }> {
  const script = `import { createClient, TxFlags } from ${JSON.stringify(entry)};\n${body}`;
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child process did not exit within 15 s; output so far: ${out}`));
    }, 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
}

describe('a process using a client', () => {
  it('exits on its own when done, without close(), and is kept alive while awaiting offloaded work', async () => {
    const r = await runChild(`
      const c = createClient({ workers: 2, policy: 'offload' });
      const len = 1 << 20;
      const dest = new Uint8Array(len);
      const tx = c.asyncXor(dest, [new Uint8Array(len).fill(1), new Uint8Array(len).fill(2)], 0, len, { flags: TxFlags.XorZeroDst });
      // Nothing but the worker holds the event loop here.
      await c.waitForAsyncTx(tx);
      console.log('done', tx.channel, dest[len - 1]);
    `);
    assert.equal(r.code, 0);
    assert.match(r.out, /^done worker\/0 3$/m);
  });

  it('exits even with work queued that nobody issued', async () => {
    const r = await runChild(`
      const c = createClient({ workers: 1, policy: 'offload' });
      c.asyncMemset(new Uint8Array(4096), 1, 0, 4096);
      console.log('submitted');
    `);
    assert.equal(r.code, 0);
    assert.match(r.out, /submitted/);
  });

  it('finishes the work and returns from await close() before exiting', async () => {
    const r = await runChild(`
      const c = createClient({ workers: 2, policy: 'offload' });
      const bufs = Array.from({ length: 32 }, () => new Uint8Array(65536));
      const txs = bufs.map((b, i) => c.asyncMemset(b, i, 0, b.length));
      await c.close();
      console.log('closed', txs.every((t) => t.status === 0), bufs.every((b, i) => b[65535] === i));
    `);
    assert.equal(r.code, 0);
    assert.match(r.out, /^closed true true$/m);
  });
});
