/**
 * A filesystem on a served array, with the tools a user has: `asynctx raid
 * serve`, nbdfuse (the export as a file), mkfs.ext4, debugfs to write a tree
 * of files without a kernel mount, e2fsck -fn; then `asynctx raid check`
 * finds 0 mismatches, and the array served degraded (two of four RAID-6
 * members) and read-only gives back every file. Skips with the reason when
 * FUSE or a tool is unavailable.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, missing, ok, serve, stop, tool } from './peers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function fuseUnavailable(): string | null {
  const gone = missing('nbdfuse', 'fusermount3', 'mkfs.ext4', 'e2fsck', 'debugfs');
  if (gone) return gone;
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    return 'skipped: /dev/fuse is not usable here (no FUSE in this container, or not permitted)';
  }
  return null;
}

/** Runs `body` with the export at `uri` exposed as the file MNT/nbd by nbdfuse; unmounts after. */
async function withFuse<T>(mnt: string, uri: string, readonly: boolean, body: (file: string) => T): Promise<T> {
  mkdirSync(mnt, { recursive: true });
  const fuse = spawn('nbdfuse', [...(readonly ? ['-r'] : []), mnt, uri], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  fuse.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => fuse.once('exit', () => r()));
  try {
    const file = join(mnt, 'nbd');
    for (let i = 0; !existsSync(file); i++) {
      if (fuse.exitCode !== null || i > 200) throw new Error(`nbdfuse did not expose ${file}: ${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return body(file);
  } finally {
    tool('fusermount3', ['-u', mnt], 10_000);
    if (fuse.exitCode === null) {
      const t = setTimeout(() => fuse.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  }
}

describe('a filesystem on a served array', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbdfs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('nbdfuse + mkfs.ext4 + debugfs writes + e2fsck clean; raid check 0 mismatches; degraded read-only gives every file back', async (t) => {
    const skip = fuseUnavailable();
    if (skip) return t.diagnostic(skip);
    const members = [0, 1, 2, 3].map((i) => join(dir, `d${i}`));
    for (const m of members) closeSync(openSync(m, 'w'));
    for (const m of members) truncateSync(m, 8 << 20);
    cli(['raid', 'create', '--level', '6', '--chunk', '64K', '-q', ...members]);
    // A tree of files of assorted sizes, and the debugfs script that copies it in.
    const files = new Map<string, string>();
    const script = ['mkdir tree', 'mkdir tree/sub'];
    for (let i = 0; i < 12; i++) {
      const data = randomBytes(1 + ((i * 37_813) % 400_000));
      const src = join(dir, `src${i}`);
      writeFileSync(src, data);
      const name = `tree/${i % 2 ? 'sub/' : ''}f${i}`;
      files.set(name, sha(data));
      script.push(`write ${src} ${name}`);
    }
    writeFileSync(join(dir, 'script'), script.join('\n') + '\n');
    const sock = join(dir, 'fs.sock');
    const uri = `nbd+unix:///?socket=${sock}`;
    const s = await serve(['--socket', sock, '-q', ...members]);
    try {
      await withFuse(join(dir, 'mnt'), uri, false, (file) => {
        ok('mkfs.ext4', ['-q', '-F', file]);
        ok('debugfs', ['-w', '-f', join(dir, 'script'), file]);
        const fsck = tool('e2fsck', ['-fn', file]);
        assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
      });
    } finally {
      assert.equal(await stop(s.child), 0, s.stderr());
    }
    const check = JSON.parse(cli(['raid', 'check', '--json', '-q', ...members])) as { mismatches: number };
    assert.equal(check.mismatches, 0);
    // Two members gone: RAID-6 rebuilds both from P and Q on every read.
    const d = await serve(['--socket', sock, '--readonly', '-q', members[0]!, members[3]!]);
    try {
      await withFuse(join(dir, 'mnt'), uri, true, (file) => {
        const fsck = tool('e2fsck', ['-fn', file]);
        assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
        const names = [...files.keys()];
        writeFileSync(join(dir, 'dump'), names.map((name, i) => `dump ${name} ${join(dir, `out${i}`)}`).join('\n') + '\n');
        ok('debugfs', ['-f', join(dir, 'dump'), file]);
        names.forEach((name, i) => assert.equal(sha(readFileSync(join(dir, `out${i}`))), files.get(name), name));
      });
    } finally {
      assert.equal(await stop(d.child), 0, d.stderr());
    }
  });
});
