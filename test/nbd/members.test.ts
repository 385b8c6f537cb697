/**
 * Arrays whose members are NBD exports, against real peers: nbdkit memory
 * exports (through the library and through `asynctx raid create nbd+unix://`),
 * nbdkit's error filter failing one member mid-write, and our own `raid serve`
 * export as a member of another array. Unix sockets only. Tests print why they
 * skip when nbdkit is absent.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdClient, NbdRequestError } from '../../src/nbd/index.js';
import { FrameReader } from '../../src/nbd/reader.js';
import { create, MemberIOError, NbdMember, NbdTimeoutError, NbdUriError, resync, scrub, type RaidArray } from '../../src/raid/index.js';
import { BIN, cli, has, nbdkit as startNbdkit, stopAll, waitForSocket } from './peers.js';

const HAS_NBDKIT = has('nbdkit');
const CHUNK = 64 * 1024;
const peers: ChildProcess[] = [];
const nbdkit = (dir: string, name: string, args: string[]) => startNbdkit(peers, dir, name, args);
const stopPeers = () => stopAll(peers);

/** The nbdkit pause filter's control socket: send 'p' or 'r', resolve on its upper-case echo. */
async function pauseControl(path: string): Promise<{ send(c: 'p' | 'r'): Promise<void>; close(): void }> {
  for (let i = 0; ; i++) {
    const sock = await new Promise<Socket | null>((resolve) => {
      const s = connect(path, () => resolve(s));
      s.once('error', () => resolve(null));
    });
    if (sock) {
      const rd = new FrameReader(sock);
      return {
        async send(c) {
          sock.write(c);
          assert.equal((await rd.read(1)).toString(), c.toUpperCase());
        },
        close: () => sock.destroy(),
      };
    }
    if (i > 100) throw new Error(`no pause control socket at ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function readAll(array: RaidArray): Promise<Buffer> {
  const got = new Uint8Array(array.size);
  await array.read(got, 0);
  return Buffer.from(got);
}

describe('NBD exports as RAID members', { concurrency: false }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbdm-'));
  });
  after(async () => {
    await stopPeers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('client: requests in flight match by handle; errors name the errno; a closed socket rejects the rest', async (t) => {
    if (!HAS_NBDKIT) return t.diagnostic('skipped: nbdkit is not installed');
    const uri = await nbdkit(dir, 'c0', ['--filter=error', 'memory', '1M', 'error=ENOSPC', 'error-pwrite-rate=100%', `error-pwrite-file=${join(dir, 'c0.fail')}`]);
    const c = await NbdClient.connect({ path: new URL(uri).searchParams.get('socket')! });
    assert.equal(c.size, 1 << 20);
    const blocks = Array.from({ length: 16 }, (_, i) => randomBytes(4096 + i * 512));
    await Promise.all(blocks.map((b, i) => c.write([b], i * 65536)));
    const back = blocks.map((b) => Buffer.alloc(b.length));
    await Promise.all(back.map((b, i) => c.read([b], i * 65536)));
    back.forEach((b, i) => assert.ok(b.equals(blocks[i]!)));
    writeFileSync(join(dir, 'c0.fail'), '');
    await assert.rejects(c.write([Buffer.alloc(512)], 0), (e: unknown) => e instanceof NbdRequestError && e.errnoName === 'ENOSPC' && /ENOSPC/.test(e.message));
    await assert.rejects(c.read([Buffer.alloc(512)], (1 << 20) - 256), /pass the end/);
    await c.flush();
    await c.close();
    await assert.rejects(c.read([Buffer.alloc(512)], 0), /closed/);
    // The peer goes away with requests in flight: every one is rejected.
    const d = await NbdClient.connect({ path: new URL(uri).searchParams.get('socket')! });
    const inflight = Array.from({ length: 8 }, (_, i) => d.read([Buffer.alloc(65536)], i * 65536));
    peers.at(-1)!.kill('SIGKILL');
    const settled = await Promise.allSettled(inflight);
    // Some may have been answered before the kill; none hangs, and the next one fails.
    assert.equal(settled.length, 8);
    await assert.rejects(d.read([Buffer.alloc(512)], 0));
    await d.close();
  });

  it('RAID-6 over nbdkit memory exports (library): write, read back, check 0 mismatches', async (t) => {
    if (!HAS_NBDKIT) return t.diagnostic('skipped: nbdkit is not installed');
    const uris = await Promise.all([0, 1, 2, 3, 4].map((i) => nbdkit(dir, `m${i}`, ['memory', '8M'])));
    const members = await Promise.all(uris.map((u) => NbdMember.open(u)));
    const array = await create(members, { level: 6, chunkBytes: CHUNK, ownsMembers: true });
    try {
      await resync(array);
      const data = randomBytes(array.size - 12345);
      await array.write(data, 4321);
      const back = await readAll(array);
      assert.ok(back.subarray(4321, 4321 + data.length).equals(data));
      assert.equal((await scrub(array, 'check')).mismatches, 0);
    } finally {
      await array.stop();
    }
  });

  it('asynctx raid create/write/read/check with nbd+unix:// member paths', async (t) => {
    if (!HAS_NBDKIT) return t.diagnostic('skipped: nbdkit is not installed');
    const uris = await Promise.all([0, 1, 2, 3].map((i) => nbdkit(dir, `k${i}`, ['memory', '8M'])));
    cli(['raid', 'create', '--level', '6', '--chunk', '64K', '-q', ...uris]);
    const data = randomBytes(3 * 1024 * 1024 + 777);
    writeFileSync(join(dir, 'in.bin'), data);
    cli(['raid', 'write', '--input', join(dir, 'in.bin'), '--offset', '4097', '-q', ...uris]);
    // Read with two members gone (RAID-6 reconstructs both).
    cli(['raid', 'read', '--output', join(dir, 'out.bin'), '--offset', '4097', '--length', String(data.length), '-q', uris[3]!, uris[1]!]);
    assert.ok(readFileSync(join(dir, 'out.bin')).equals(data));
    const check = JSON.parse(cli(['raid', 'check', '--json', '-q', ...uris])) as { mismatches: number };
    assert.equal(check.mismatches, 0);
    assert.match(cli(['raid', 'examine', uris[0]!]), /raid6/i);
  });

  it('a member failing mid-write (nbdkit error filter): the array degrades, every acknowledged write reads back', async (t) => {
    if (!HAS_NBDKIT) return t.diagnostic('skipped: nbdkit is not installed');
    const trigger = join(dir, 'e2.fail');
    const uris = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        nbdkit(dir, `e${i}`, i === 2 ? ['--filter=error', 'memory', '8M', 'error=EIO', 'error-pwrite-rate=100%', `error-pwrite-file=${trigger}`] : ['memory', '8M']),
      ),
    );
    const members = await Promise.all(uris.map((u) => NbdMember.open(u)));
    const array = await create(members, { level: 6, chunkBytes: CHUNK, ownsMembers: true, assumeClean: true, log: () => undefined });
    try {
      const model = Buffer.alloc(array.size);
      for (let i = 0; i < 24; i++) {
        if (i === 9) writeFileSync(trigger, '');
        const at = (i * 104729 * 7) % (array.size - 200_000);
        const d = randomBytes(1000 + ((i * 7919) % 150_000));
        await array.write(d, at);
        d.copy(model, at);
      }
      assert.equal(array.slots[2]!.state, 'faulty');
      assert.ok(array.errors.length > 0 && array.errors.every((e) => e instanceof MemberIOError));
      assert.ok(array.errors.some((e) => /EIO/.test(String((e as Error & { cause?: Error }).cause?.message ?? e.message))));
      assert.ok((await readAll(array)).equals(model), 'degraded read differs from acknowledged data');
    } finally {
      await array.stop();
    }
  });

  it('a member whose server stops answering (nbdkit pause filter) fails with NbdTimeoutError; the array goes on degraded', async (t) => {
    if (!HAS_NBDKIT) return t.diagnostic('skipped: nbdkit is not installed');
    const control = join(dir, 'pause.ctl');
    const uris = await Promise.all(
      [0, 1, 2].map((i) => nbdkit(dir, `p${i}`, i === 1 ? ['--filter=pause', 'memory', '8M', `pause-control=${control}`] : ['memory', '8M'])),
    );
    const members = await Promise.all(uris.map((u) => NbdMember.open(u, { timeoutMs: 300 })));
    const array = await create(members, { level: 5, chunkBytes: CHUNK, ownsMembers: true, assumeClean: true, log: () => undefined });
    const ctl = await pauseControl(control);
    try {
      const before = randomBytes(256 * 1024);
      await array.write(before, 0);
      await ctl.send('p');
      const t0 = performance.now();
      const after = randomBytes(512 * 1024);
      await array.write(after, 1 << 20);
      const took = performance.now() - t0;
      assert.ok(took < 5000, `the write waited ${took.toFixed(0)} ms for a stuck member`);
      assert.equal(array.slots[1]!.state, 'faulty');
      assert.ok(array.errors.some((e) => e instanceof MemberIOError && (e as Error & { cause?: unknown }).cause instanceof NbdTimeoutError), array.errors.map(String).join('; '));
      const back = Buffer.alloc(after.length);
      await array.read(back, 1 << 20);
      assert.ok(back.equals(after));
      const first = Buffer.alloc(before.length);
      await array.read(first, 0);
      assert.ok(first.equals(before));
    } finally {
      await ctl.send('r');
      ctl.close();
      await array.stop();
    }
  });

  it('a slow member (nbdkit delay filter) only slows the array: the data is right and it checks clean', async (t) => {
    if (!HAS_NBDKIT) return t.diagnostic('skipped: nbdkit is not installed');
    const uris = await Promise.all(
      [0, 1, 2, 3].map((i) => nbdkit(dir, `s${i}`, i === 2 ? ['--filter=delay', 'memory', '4M', 'rdelay=20ms', 'wdelay=20ms'] : ['memory', '4M'])),
    );
    const members = await Promise.all(uris.map((u) => NbdMember.open(u, { timeoutMs: 5000 })));
    const array = await create(members, { level: 6, chunkBytes: CHUNK, ownsMembers: true, assumeClean: true, log: () => undefined });
    try {
      const data = randomBytes(1 << 20);
      await array.write(data, 65536);
      const back = Buffer.alloc(data.length);
      await array.read(back, 65536);
      assert.ok(back.equals(data));
      assert.equal((await scrub(array, 'check')).mismatches, 0);
      assert.ok(array.slots.every((s) => s.state !== 'faulty'));
    } finally {
      await array.stop();
    }
  });

  it('members served by qemu-nbd (raw files): raid create, write, degraded read and check', async (t) => {
    if (!has('qemu-nbd')) return t.diagnostic('skipped: qemu-nbd (qemu-utils) is not installed');
    const uris: string[] = [];
    for (let i = 0; i < 3; i++) {
      const file = join(dir, `qn${i}.img`);
      writeFileSync(file, Buffer.alloc(0));
      truncateSync(file, 8 << 20);
      const sock = join(dir, `qn${i}.sock`);
      // -t: stay up across clients (each CLI verb is a new one).
      const child = spawn('qemu-nbd', ['-k', sock, '-f', 'raw', '-t', file], { stdio: 'ignore' });
      peers.push(child);
      await waitForSocket(sock, child);
      uris.push(`nbd+unix:///?socket=${sock}`);
    }
    cli(['raid', 'create', '--level', '5', '--chunk', '64K', '-q', ...uris]);
    const data = randomBytes(5 * 1024 * 1024 + 333);
    writeFileSync(join(dir, 'qn.in'), data);
    cli(['raid', 'write', '--input', join(dir, 'qn.in'), '--offset', '12345', '-q', ...uris]);
    cli(['raid', 'read', '--output', join(dir, 'qn.out'), '--offset', '12345', '--length', String(data.length), '-q', uris[0]!, uris[2]!]);
    assert.ok(readFileSync(join(dir, 'qn.out')).equals(data));
    const check = JSON.parse(cli(['raid', 'check', '--json', '-q', ...uris])) as { mismatches: number };
    assert.equal(check.mismatches, 0);
  });

  it('our own raid serve export as a member of another array', async (t) => {
    if (!HAS_NBDKIT) return t.diagnostic('skipped: nbdkit is not installed');
    const files = [0, 1, 2].map((i) => join(dir, `f${i}`));
    cli(['raid', 'create', '--level', '5', '--chunk', '64K', '--member-size', '8M', '--assume-clean', '-q', ...files]);
    const sock = join(dir, 'served.sock');
    const child = spawn(process.execPath, [BIN, 'raid', 'serve', '--socket', sock, '-q', ...files], { stdio: ['ignore', 'ignore', 'inherit'] });
    peers.push(child);
    await waitForSocket(sock, child);
    const uris = [`nbd+unix:///?socket=${sock}`, ...(await Promise.all([0, 1].map((i) => nbdkit(dir, `o${i}`, ['memory', '16M']))))];
    const members = await Promise.all(uris.map((u) => NbdMember.open(u)));
    const array = await create(members, { level: 5, chunkBytes: CHUNK, ownsMembers: true });
    try {
      await resync(array);
      const data = randomBytes(array.size);
      await array.write(data, 0);
      assert.ok((await readAll(array)).equals(data));
      assert.equal((await scrub(array, 'check')).mismatches, 0);
      await array.flush();
    } finally {
      await array.stop();
    }
    await new Promise((r) => (child.once('exit', r), child.kill('SIGINT')));
    // The inner array took the outer member's writes cleanly.
    const inner = JSON.parse(cli(['raid', 'check', '--json', '-q', ...files])) as { mismatches: number };
    assert.equal(inner.mismatches, 0);
  });

  it('nbd:// over TCP on 127.0.0.1 with a named export; a wrong export or no server is a rejected open', async () => {
    const files = [0, 1, 2].map((i) => join(dir, `t${i}`));
    cli(['raid', 'create', '--level', '5', '--chunk', '64K', '--member-size', '4M', '--assume-clean', '-q', ...files]);
    const child = spawn(process.execPath, [BIN, 'raid', 'serve', '--listen', '127.0.0.1:0', '--export', 'vol', '--json', '-q', ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
    peers.push(child);
    const info = JSON.parse(
      await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), out.includes('\n') && resolve(out.split('\n')[0]!)));
        child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      }),
    ) as { listening: string; size: number };
    assert.match(info.listening, /^nbd:\/\/127\.0\.0\.1:\d+\/vol$/);
    const m = await NbdMember.open(info.listening);
    try {
      assert.equal(m.size, info.size);
      const block = randomBytes(65536);
      await m.write(block, 131072);
      const back = Buffer.alloc(block.length);
      await m.read(back, 131072);
      assert.ok(back.equals(block));
      await m.sync();
    } finally {
      await m.close();
    }
    await assert.rejects(NbdMember.open(info.listening.replace(/vol$/, 'nope')), /refused export "nope"/);
    const port = Number(/:(\d+)\//.exec(info.listening)![1]);
    await new Promise((r) => (child.once('exit', r), child.kill('SIGINT')));
    await assert.rejects(NbdMember.open(`nbd://127.0.0.1:${port}/vol`), /ECONNREFUSED/);
    await assert.rejects(NbdMember.open('nbds://127.0.0.1/vol'), NbdUriError);
  });
});
