/**
 * Where the server may listen on a unix socket: a socket left by a server
 * killed with SIGKILL is replaced (a restart after kill -9 works), a live
 * server's socket and a path that is not a socket are refused with
 * ListenError and left alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListenError, NbdServer } from '../../src/nbd/index.js';
import { MemoryTarget } from './memory_target.js';
import { Wire } from './wire.js';

describe('NbdServer.listen on a unix socket', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbd-listen-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces a stale socket, refuses a live one and a non-socket', async () => {
    const stale = join(dir, 'stale.sock');
    // A process that listens and dies without cleaning up.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    await new Promise((r) => (child.once('exit', r), child.kill('SIGKILL')));
    assert.ok(existsSync(stale), 'the killed process took its socket with it');
    const a = new NbdServer(new MemoryTarget(65536));
    await a.listen({ path: stale });
    try {
      const w = await Wire.open(stale);
      await w.go();
      w.close();
      const b = new NbdServer(new MemoryTarget(65536));
      await assert.rejects(b.listen({ path: stale }), (e: unknown) => e instanceof ListenError && /another server is listening/.test(e.message));
      const file = join(dir, 'plain');
      writeFileSync(file, 'keep me');
      await assert.rejects(b.listen({ path: file }), (e: unknown) => e instanceof ListenError && /not a socket/.test(e.message));
      assert.equal(readFileSync(file, 'utf8'), 'keep me');
    } finally {
      await a.close();
    }
  });
});
