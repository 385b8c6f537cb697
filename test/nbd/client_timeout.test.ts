/**
 * The NBD client's timeout: a server that stops answering fails the
 * connection with NbdTimeoutError after a bounded time (at the handshake or
 * with requests in flight), a slow server that keeps answering does not, 0
 * waits forever, and an idle connection holds no timer. The servers are in
 * this process: a listener that never speaks, and our own server over a
 * target that can be held.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdClient, NbdServer, NbdTimeoutError, NbdUsageError } from '../../src/nbd/index.js';
import { NbdMember, RaidUsageError } from '../../src/raid/index.js';
import { MemoryTarget } from './memory_target.js';
import { BIN } from './peers.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('NBD client timeout', () => {
  let dir = '';
  let target: MemoryTarget;
  let server: NbdServer;
  let silent: Server;
  const held: Socket[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbdt-'));
    target = new MemoryTarget(1 << 20);
    server = new NbdServer(target);
    await server.listen({ path: join(dir, 'srv.sock') });
    // Accepts and never says a word.
    silent = createServer((s) => void held.push(s));
    await new Promise<void>((r) => silent.listen(join(dir, 'silent.sock'), r));
  });
  after(async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => silent.close(r));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a server that never finishes the handshake: NbdTimeoutError after the timeout', async () => {
    const t0 = performance.now();
    await assert.rejects(NbdClient.connect({ path: join(dir, 'silent.sock') }, '', { timeoutMs: 150 }), (e: unknown) => e instanceof NbdTimeoutError && /handshake: no answer within 150 ms/.test(e.message));
    const took = performance.now() - t0;
    assert.ok(took >= 140 && took < 5000, `gave up after ${took.toFixed(0)} ms`);
    await assert.rejects(NbdClient.connect({ path: join(dir, 'silent.sock') }, '', { timeoutMs: -1 }), NbdUsageError);
    await assert.rejects(NbdMember.open(`nbd+unix:///?socket=${join(dir, 'silent.sock')}`, { timeoutMs: Number.NaN }), RaidUsageError);
  });

  it('requests in flight on a server that stops answering: all rejected with NbdTimeoutError, and every later one', async () => {
    const c = await NbdClient.connect({ path: join(dir, 'srv.sock') }, '', { timeoutMs: 200 });
    await c.write([Buffer.alloc(4096, 1)], 0);
    let release = () => undefined as void;
    target.gate = new Promise<void>((r) => (release = r));
    try {
      const t0 = performance.now();
      const stuck = [c.read([Buffer.alloc(512)], 0), c.write([Buffer.alloc(512)], 4096), c.flush()];
      const settled = await Promise.allSettled(stuck);
      const took = performance.now() - t0;
      assert.ok(settled.every((s) => s.status === 'rejected' && s.reason instanceof NbdTimeoutError), JSON.stringify(settled.map((s) => s.status)));
      assert.match(String((settled[0] as PromiseRejectedResult).reason.message), /read at byte 0 had no answer within 200 ms/);
      assert.ok(took >= 190 && took < 5000, `gave up after ${took.toFixed(0)} ms`);
      await assert.rejects(c.read([Buffer.alloc(512)], 0), NbdTimeoutError);
    } finally {
      target.gate = null;
      release();
      await c.close();
    }
  });

  it('a slow server that keeps answering never times out; 0 waits forever; an idle connection holds no timer', async () => {
    const before = timers();
    const c = await NbdClient.connect({ path: join(dir, 'srv.sock') }, '', { timeoutMs: 500 });
    target.delayMs = () => 60;
    try {
      // 12 requests one after another: 720 ms in all, each well inside the timeout.
      for (let i = 0; i < 12; i++) await c.read([Buffer.alloc(512)], i * 512);
      assert.equal(timers(), before, 'a timer outlived the requests');
    } finally {
      target.delayMs = () => 0;
      await c.close();
    }
    const forever = await NbdClient.connect({ path: join(dir, 'srv.sock') }, '', { timeoutMs: 0 });
    let release = () => undefined as void;
    target.gate = new Promise<void>((r) => (release = r));
    try {
      const p = forever.read([Buffer.alloc(512)], 0);
      await new Promise((r) => setTimeout(r, 400));
      target.gate = null;
      release();
      await p;
    } finally {
      await forever.close();
    }
  });

  it('the CLI takes --nbd-timeout in seconds and refuses a bad one', () => {
    const r = spawnSync(process.execPath, [BIN, 'raid', 'detail', '--nbd-timeout', 'soon', 'nbd://127.0.0.1/x'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--nbd-timeout takes seconds/);
    const t0 = performance.now();
    const q = spawnSync(process.execPath, [BIN, 'raid', 'detail', '--nbd-timeout', '0.2', `nbd+unix:///?socket=${join(dir, 'silent.sock')}`], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(q.status, 1);
    assert.match(q.stderr, /no answer within 200 ms/);
    assert.ok(performance.now() - t0 < 8000);
  });
});
