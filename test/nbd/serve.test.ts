/**
 * `asynctx raid serve` against real NBD clients (libnbd's nbdinfo and nbdcopy,
 * qemu-img), plus malformed clients: the server drops them and keeps serving.
 * Tests needing a tool print why they skip when it is absent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, has, serve, stop } from './peers.js';

describe('asynctx raid serve', () => {
  let dir = '';
  let members: string[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbd-'));
    members = [0, 1, 2, 3].map((i) => join(dir, `d${i}`));
    for (const m of members) closeSync(openSync(m, 'w'));
    for (const m of members) truncateSync(m, 8 << 20);
    cli(['raid', 'create', '--level', '6', '--chunk', '64K', '--member-size', '8M', ...members]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('nbdinfo reports size, flags and block sizes; nbdcopy in and out matches; raid check finds 0 mismatches', async (t) => {
    if (!has('nbdinfo') || !has('nbdcopy')) return t.diagnostic('skipped: nbdinfo/nbdcopy (libnbd-bin) not installed');
    const sock = join(dir, 'sock');
    const { child, info } = await serve(['--socket', sock, ...members]);
    try {
      const uri = `nbd+unix:///?socket=${sock}`;
      const ni = JSON.parse(spawnSync('nbdinfo', ['--json', uri], { encoding: 'utf8', timeout: 10_000 }).stdout) as { exports: Array<Record<string, unknown>> };
      const e = ni.exports[0]!;
      assert.equal(e['export-size'], info.size);
      assert.equal(e['is_read_only'], false);
      assert.equal(e['can_flush'], true);
      assert.equal(e['can_fua'], true);
      assert.equal(e['block_size_minimum'], 1);
      assert.equal(e['block_size_preferred'], 128 << 10);
      assert.equal(e['block_size_maximum'], 32 << 20);
      const payload = randomBytes(info.size);
      writeFileSync(join(dir, 'in.bin'), payload);
      assert.equal(spawnSync('nbdcopy', [join(dir, 'in.bin'), uri], { timeout: 30_000 }).status, 0);
      assert.equal(spawnSync('nbdcopy', [uri, join(dir, 'out.bin')], { timeout: 30_000 }).status, 0);
      assert.ok(readFileSync(join(dir, 'out.bin')).equals(payload), 'nbdcopy out differs from what nbdcopy wrote');
      assert.equal(await stop(child), 0);
      cli(['raid', 'read', '-o', join(dir, 'rb.bin'), ...members]);
      assert.ok(readFileSync(join(dir, 'rb.bin')).equals(payload), 'raid read differs');
      const check = JSON.parse(cli(['raid', 'check', '--json', ...members])) as { mismatches: number };
      assert.equal(check.mismatches, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('regression: SIGINT the moment the ready line is read stops cleanly (the handler used to be installed after the line)', async () => {
    for (let i = 0; i < 3; i++) {
      const { child } = await serve(['-q', '--socket', join(dir, `sig${i}`), ...members]);
      assert.equal(await stop(child), 0);
    }
    assert.match(cli(['raid', 'detail', ...members]), /State : clean/);
  });

  it('malformed clients are dropped while others are served; --readonly is advertised; qemu-img compare matches degraded', async (t) => {
    if (!has('nbdinfo')) return t.diagnostic('skipped: nbdinfo (libnbd-bin) not installed');
    const sock = join(dir, 'sock2');
    // Two members given out of four: RAID-6 serves degraded from P+Q.
    const { child } = await serve(['--readonly', '--socket', sock, members[0]!, members[3]!]);
    try {
      const garbage = [Buffer.from('not nbd at all'), Buffer.alloc(4, 0xff), Buffer.concat([Buffer.alloc(4), Buffer.from('IHAVEOPX'), Buffer.alloc(8)])];
      for (const g of garbage) {
        await new Promise<void>((resolve) => {
          const s = connect(sock, () => s.end(g));
          s.on('close', () => resolve());
          s.on('error', () => resolve());
          s.resume();
        });
      }
      const ni = JSON.parse(spawnSync('nbdinfo', ['--json', `nbd+unix:///?socket=${sock}`], { encoding: 'utf8', timeout: 10_000 }).stdout) as { exports: Array<Record<string, unknown>> };
      assert.equal(ni.exports[0]!['is_read_only'], true);
      if (!has('qemu-img')) t.diagnostic('qemu-img compare skipped: qemu-utils not installed');
      else {
        const r = spawnSync('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', join(dir, 'in.bin'), `nbd+unix:///?socket=${sock}`], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, r.stdout + r.stderr);
      }
    } finally {
      assert.equal(await stop(child), 0);
    }
  });
});
