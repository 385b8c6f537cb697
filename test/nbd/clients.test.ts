/**
 * The NBD server against real clients beyond the basic copy (serve.test.ts):
 * nbdinfo's view of structured replies and base:allocation, qemu-io's FUA
 * and requests in flight, nbdcopy over several connections, nbdcopy killed
 * mid-copy, clients that vanish mid-request, and an array that loses one
 * member too many while it is served. Each test skips with the reason when
 * a tool it needs is not installed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdServer } from '../../src/nbd/index.js';
import { create, MemoryMember, scrub } from '../../src/raid/index.js';
import { ArrayTarget } from '../../src/raid/nbd_target.js';
import { MemoryTarget } from './memory_target.js';
import { cli, missing, nbdkit, ok, run, serve, stop, stopAll, tool } from './peers.js';
import { Wire } from './wire.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Makes `n` member files of `size` bytes under `dir` and creates a RAID-`level` array on them. */
function makeArray(dir: string, prefix: string, level: number, n: number, size: number): string[] {
  const files = Array.from({ length: n }, (_, i) => join(dir, `${prefix}${i}`));
  for (const f of files) closeSync(openSync(f, 'w'));
  for (const f of files) truncateSync(f, size);
  cli(['raid', 'create', '--level', String(level), '--chunk', '64K', '--assume-clean', '-q', ...files]);
  return files;
}

describe('asynctx raid serve with real clients', { concurrency: false }, () => {
  let dir = '';
  const peers: ChildProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbdc-'));
  });
  after(async () => {
    await stopAll(peers);
    rmSync(dir, { recursive: true, force: true });
  });

  it('nbdinfo: structured replies and base:allocation negotiated; --map shows the whole array as data', async (t) => {
    const skip = missing('nbdinfo');
    if (skip) return t.diagnostic(skip);
    const files = makeArray(dir, 'i', 6, 4, 4 * MiB);
    const sock = join(dir, 'info.sock');
    const s = await serve(['--socket', sock, ...files]);
    try {
      const uri = `nbd+unix:///?socket=${sock}`;
      const info = JSON.parse(ok('nbdinfo', ['--json', uri])) as { structured: boolean; exports: Array<Record<string, unknown>> };
      assert.equal(info.structured, true);
      assert.deepEqual(info.exports[0]!['contexts'], ['base:allocation']);
      assert.equal(info.exports[0]!['can_df'], true);
      assert.equal(info.exports[0]!['can_multi_conn'], true);
      const map = JSON.parse(ok('nbdinfo', ['--map', '--json', uri])) as Array<{ offset: number; length: number; type: number; description: string }>;
      assert.deepEqual(map, [{ offset: 0, length: s.info.size, type: 0, description: 'data' }]);
      const part = JSON.parse(ok('nbdinfo', ['--map=base:allocation', '--json', uri])) as unknown[];
      assert.deepEqual(part, map);
    } finally {
      assert.equal(await stop(s.child), 0);
    }
  });

  it('qemu-nbd -L lists the named export, its flags and base:allocation; qemu-img convert copies it out byte for byte', async (t) => {
    const skip = missing('qemu-nbd', 'qemu-img');
    if (skip) return t.diagnostic(skip);
    const files = makeArray(dir, 'q', 6, 4, 4 * MiB);
    const payload = randomBytes(6 * MiB);
    writeFileSync(join(dir, 'q.in'), payload);
    cli(['raid', 'write', '--input', join(dir, 'q.in'), '-q', ...files]);
    const sock = join(dir, 'q.sock');
    const s = await serve(['--socket', sock, '--export', 'vol', '-q', ...files]);
    try {
      const list = ok('qemu-nbd', ['-L', '-k', sock]);
      assert.match(list, /exports available: 1/);
      assert.match(list, /export: 'vol'/);
      assert.match(list, new RegExp(`size:\\s+${s.info.size}`));
      assert.match(list, /flags: 0x[0-9a-f]+ \( flush fua trim zeroes df multi \)/);
      assert.match(list, /available meta contexts: 1\s+base:allocation/);
      ok('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', `nbd+unix:///vol?socket=${sock}`, join(dir, 'q.out')]);
      assert.ok(readFileSync(join(dir, 'q.out')).equals(payload));
    } finally {
      assert.equal(await stop(s.child), 0, s.stderr());
    }
  });

  it('qemu-io: a FUA write is flushed before its reply, a plain one is not; aio requests in flight finish out of order with the right bytes', async (t) => {
    const skip = missing('qemu-io');
    if (skip) return t.diagnostic(skip);
    const target = new MemoryTarget(4 * MiB);
    const server = new NbdServer(target);
    const sock = join(dir, 'qio.sock');
    await server.listen({ path: sock });
    // The server runs in this process: the tool must run asynchronously.
    // Writeback cache: qemu-io's default (writethrough) flushes after every write, which would hide FUA.
    const qio = (...cmds: string[]) => run('qemu-io', ['-f', 'raw', '-t', 'writeback', ...cmds.flatMap((c) => ['-c', c]), `nbd+unix:///?socket=${sock}`]);
    const writesAndFlushes = () => target.log.filter((l) => !l.startsWith('read'));
    try {
      // qemu-io runs the commands one after another (and flushes once more as it closes).
      let r = await qio('write -f -P 0xab 0 64k', 'write -P 0x11 64k 64k', 'write -P 0x22 128k 64k');
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(writesAndFlushes().slice(0, 4), ['write 0 65536', 'flush', 'write 65536 65536', 'write 131072 65536']);
      assert.ok(target.bytes.subarray(0, 64 * KiB).every((b) => b === 0xab));
      // Lower offsets take longer, so requests issued together complete in reverse.
      target.delayMs = (off) => (off < 512 * KiB ? 40 - 9 * (off / (128 * KiB)) : 0);
      target.finished.length = 0;
      target.maxInFlight = 0;
      const pat = [0x21, 0x32, 0x43, 0x54];
      const aio = (op: string) => pat.map((p, i) => `${op} -P 0x${p.toString(16)} ${i * 128}k 128k`);
      r = await qio(...aio('aio_write'), 'aio_flush', ...aio('aio_read'), 'aio_flush');
      assert.equal(r.code, 0, r.out);
      assert.doesNotMatch(r.out, /fail|error/i);
      assert.ok(target.maxInFlight >= 2, `requests in flight at once: ${target.maxInFlight}`);
      const writes = target.finished.filter((l) => l.startsWith('write')).map((l) => Number(l.split(' ')[1]));
      assert.notDeepEqual(writes, [...writes].sort((a, b) => a - b), 'writes completed in the order they were sent');
      pat.forEach((p, i) => assert.ok(target.bytes.subarray(i * 128 * KiB, (i + 1) * 128 * KiB).every((b) => b === p), `block ${i}`));
    } finally {
      target.delayMs = () => 0;
      await server.close();
    }
  });

  it('nbdcopy --connections=4 in and out of an array (CAN_MULTI_CONN): the bytes match and the array checks clean', async (t) => {
    const skip = missing('nbdcopy');
    if (skip) return t.diagnostic(skip);
    const members = Array.from({ length: 4 }, (_, i) => new MemoryMember(`mc${i}`, 4 * MiB));
    const array = await create(members, { level: 6, chunkBytes: 64 * KiB, assumeClean: true, log: () => undefined });
    const server = new NbdServer(new ArrayTarget(array));
    const sock = join(dir, 'mc.sock');
    await server.listen({ path: sock });
    const uri = `nbd+unix:///?socket=${sock}`;
    try {
      const payload = randomBytes(array.size);
      writeFileSync(join(dir, 'mc.in'), payload);
      let r = await run('nbdcopy', ['--connections=4', '--threads=4', '--requests=4', '--request-size=65536', join(dir, 'mc.in'), uri]);
      assert.equal(r.code, 0, r.out);
      assert.ok(server.stats.peakConnections >= 4, `connections open at once: ${server.stats.peakConnections}`);
      r = await run('nbdcopy', ['--connections=4', '--threads=4', '--requests=4', uri, join(dir, 'mc.out')]);
      assert.equal(r.code, 0, r.out);
      assert.ok(readFileSync(join(dir, 'mc.out')).equals(payload), 'nbdcopy out differs from what went in');
      assert.equal((await scrub(array, 'check')).mismatches, 0);
    } finally {
      await server.close();
      await array.stop();
    }
  });

  it('nbdcopy killed with SIGKILL mid-copy: the server keeps serving; a later full copy is correct; the array checks clean', async (t) => {
    const skip = missing('nbdcopy');
    if (skip) return t.diagnostic(skip);
    const files = makeArray(dir, 'k', 6, 4, 4 * MiB);
    const sock = join(dir, 'kill.sock');
    const s = await serve(['--socket', sock, ...files]);
    const uri = `nbd+unix:///?socket=${sock}`;
    try {
      // From a pipe that never ends: the copy is in flight (writes sent, more to come) when it dies.
      const copy = spawn('nbdcopy', ['-', uri], { stdio: ['pipe', 'ignore', 'ignore'] });
      copy.stdin!.on('error', () => undefined);
      copy.stdin!.write(randomBytes(2 * MiB));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(copy.exitCode, null, 'nbdcopy ended before it was killed');
      await stop(copy, 'SIGKILL');
      assert.equal(s.child.exitCode, null, 'the server died with its client');
      const payload = randomBytes(s.info.size);
      writeFileSync(join(dir, 'k.in'), payload);
      ok('nbdcopy', [join(dir, 'k.in'), uri]);
      ok('nbdcopy', [uri, join(dir, 'k.out')]);
      assert.ok(readFileSync(join(dir, 'k.out')).equals(payload));
    } finally {
      assert.equal(await stop(s.child), 0, s.stderr());
    }
    const check = JSON.parse(cli(['raid', 'check', '--json', '-q', ...files])) as { mismatches: number };
    assert.equal(check.mismatches, 0);
  });

  it('raid serve killed with SIGKILL during nbdcopy writes: served again it resyncs, and the array checks 0 mismatches', async (t) => {
    const skip = missing('nbdcopy');
    if (skip) return t.diagnostic(skip);
    const files = makeArray(dir, 'x', 6, 4, 4 * MiB);
    const sock = join(dir, 'x.sock');
    const s = await serve(['--socket', sock, ...files]);
    const copy = spawn('nbdcopy', ['-', `nbd+unix:///?socket=${sock}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    copy.stdin!.on('error', () => undefined);
    // A steady stream, so writes are in flight (and the array dirty) when the server dies.
    const feed = setInterval(() => copy.stdin!.write(randomBytes(64 * KiB)), 10);
    try {
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await stop(s.child, 'SIGKILL'), null);
    } finally {
      clearInterval(feed);
      await stop(copy, 'SIGKILL');
    }
    const again = await serve(['--socket', sock, ...files]);
    assert.equal(await stop(again.child), 0, again.stderr());
    assert.match(again.stderr(), /not cleanly stopped: resyncing parity/);
    const check = JSON.parse(cli(['raid', 'check', '--json', '-q', ...files])) as { mismatches: number };
    assert.equal(check.mismatches, 0);
  });

  it('clients vanishing mid-request (part of a write payload, a read never collected, an oversize frame) drop only their own connection', async () => {
    const files = makeArray(dir, 'v', 5, 3, 4 * MiB);
    const sock = join(dir, 'v.sock');
    const s = await serve(['--socket', sock, ...files]);
    try {
      const survivor = await Wire.open(sock);
      await survivor.go();
      const gone = await Promise.all([0, 1, 2].map(() => Wire.open(sock).then(async (w) => (await w.go(), w))));
      gone[0]!.request(1, 1n, 0, MiB, 0, Buffer.alloc(100 * KiB, 0xee));
      gone[1]!.request(0, 2n, 0, 4 * MiB);
      gone[2]!.request(1, 3n, 0, 64 * MiB);
      await new Promise((r) => setTimeout(r, 50));
      for (const w of gone) w.close();
      const data = randomBytes(64 * KiB);
      survivor.request(1, 10n, MiB, data.length, 0, data);
      assert.deepEqual(await survivor.reply(), { kind: 'simple', error: 0, handle: 10n });
      survivor.request(3, 11n, 0, 0);
      assert.deepEqual(await survivor.reply(), { kind: 'simple', error: 0, handle: 11n });
      survivor.request(0, 12n, MiB, data.length);
      assert.ok((await survivor.reply(data.length)).data!.equals(data));
      survivor.close();
      assert.equal(s.child.exitCode, null);
    } finally {
      assert.equal(await stop(s.child), 0, s.stderr());
    }
    assert.match(s.stderr(), /connection dropped: write payload too large/);
    // The write whose payload never arrived wrote nothing.
    cli(['raid', 'read', '-o', join(dir, 'v.out'), '--length', String(MiB), '-q', ...files]);
    assert.ok(readFileSync(join(dir, 'v.out')).every((b) => b === 0));
    const check = JSON.parse(cli(['raid', 'check', '--json', '-q', ...files])) as { mismatches: number };
    assert.equal(check.mismatches, 0);
  });

  it('members failing while served: one degrades the array and clients go on; one too many is EIO to clients, not a crash', async (t) => {
    const skip = missing('nbdkit', 'qemu-io', 'nbdinfo');
    if (skip) return t.diagnostic(skip);
    const trigger = (i: number) => join(dir, `fail${i}`);
    const uris = await Promise.all(
      [0, 1, 2].map((i) => nbdkit(peers, dir, `f${i}`, ['--filter=error', 'memory', '8M', 'error=EIO', 'error-rate=100%', `error-file=${trigger(i)}`])),
    );
    cli(['raid', 'create', '--level', '5', '--chunk', '64K', '--assume-clean', '-q', ...uris]);
    const sock = join(dir, 'f.sock');
    const s = await serve(['--socket', sock, ...uris]);
    const uri = `nbd+unix:///?socket=${sock}`;
    const qio = (...cmds: string[]) => tool('qemu-io', ['-f', 'raw', ...cmds.flatMap((c) => ['-c', c]), uri]);
    try {
      assert.equal(qio('write -P 0x5a 0 1M').status, 0);
      writeFileSync(trigger(1), '');
      const degraded = qio('read -P 0x5a 0 1M', 'write -P 0x6b 1M 256k', 'read -P 0x6b 1M 256k');
      assert.equal(degraded.status, 0, degraded.stdout + degraded.stderr);
      assert.doesNotMatch(degraded.stdout, /fail/i);
      writeFileSync(trigger(2), '');
      // The write meets the second failure (a read of cached stripes may still succeed before one does).
      const failed = qio('write -P 0x7c 2M 64k', 'read 0 64k');
      assert.match(failed.stdout + failed.stderr, /read failed: Input\/output error/);
      assert.match(failed.stdout + failed.stderr, /write failed: Input\/output error/);
      // Still serving: a new client connects and is told EIO again.
      ok('nbdinfo', [uri]);
      assert.match(qio('read 4M 4k').stdout, /Input\/output error/);
      assert.equal(s.child.exitCode, null);
    } finally {
      const code = await stop(s.child);
      // The array cannot be flushed or marked clean: a one-line reason and exit 1, no stack trace.
      assert.equal(code, 1, s.stderr());
    }
    assert.match(s.stderr(), /cannot serve I\/O/);
    assert.doesNotMatch(s.stderr(), /\n\s+at /);
  });
});
