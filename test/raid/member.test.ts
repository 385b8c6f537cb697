import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, openSync, closeSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMember } from '../../src/raid/member.js';

function tmp(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'asynctx-member-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('FileMember: positional read, write, readv and writev land at their byte offsets', async () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'm0');
    const m = await FileMember.create(path, 64 * 1024);
    assert.equal(m.size, 64 * 1024);
    const a = new Uint8Array(4096).fill(0xa5);
    const b = new Uint8Array(1000).fill(0x3c);
    const c = new Uint8Array(3096).fill(0x77);
    await Promise.all([m.write(a, 8192), m.writev([b, c], 16384)]);
    const file = readFileSync(path);
    assert.deepEqual(file.subarray(8192, 12288), Buffer.from(a));
    assert.deepEqual(file.subarray(16384, 17384), Buffer.from(b));
    assert.deepEqual(file.subarray(17384, 20480), Buffer.from(c));
    assert.equal(file[8191], 0);
    const r = new Uint8Array(4096);
    await m.read(r, 8192);
    assert.deepEqual(r, a);
    const r1 = new Uint8Array(1000);
    const r2 = new Uint8Array(3096);
    await m.readv([r1, r2], 16384);
    assert.deepEqual(r1, b);
    assert.deepEqual(r2, c);
    await m.sync();
    await m.close();
  } finally {
    t.done();
  }
});

test('FileMember: a read past the end rejects as a short read', async () => {
  const t = tmp();
  try {
    const m = await FileMember.create(join(t.dir, 'm0'), 4096);
    await assert.rejects(m.read(new Uint8Array(8192), 0), /short read/);
    await assert.rejects(m.readv([new Uint8Array(4096), new Uint8Array(10)], 0), /short read/);
    await m.close();
  } finally {
    t.done();
  }
});

test('FileMember: a second close does not close the file that reused the descriptor number', async () => {
  const t = tmp();
  try {
    await (await FileMember.create(join(t.dir, 'm0'), 4096)).close();
    const m = await FileMember.open(join(t.dir, 'm0'));
    await m.close();
    // The kernel hands out the lowest free number, so this open likely reuses m's fd.
    const other = openSync(join(t.dir, 'other'), 'w');
    try {
      await m.close();
      assert.equal(writeSync(other, 'still open'), 10);
    } finally {
      closeSync(other);
    }
  } finally {
    t.done();
  }
});

test('FileMember.writeFua: the bytes land through a second (O_DSYNC) descriptor, reads see them, close closes both, a closed member refuses', async () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'fua');
    const m = await FileMember.create(path, 64 * 1024);
    await m.write(new Uint8Array(8192).fill(1), 0);
    await m.writeFua(new Uint8Array(4096).fill(2), 4096);
    const back = new Uint8Array(8192);
    await m.read(back, 0);
    assert.ok(back.subarray(0, 4096).every((b) => b === 1));
    assert.ok(back.subarray(4096).every((b) => b === 2));
    await m.close();
    assert.ok(readFileSync(path).subarray(4096, 8192).every((b) => b === 2));
    await assert.rejects(m.writeFua(new Uint8Array(512), 0), /closed/);
  } finally {
    t.done();
  }
});

test('FileMember writeThrough: writes go through an O_DSYNC descriptor, writeFua uses it too, close closes it once', async () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'wt');
    const m = await FileMember.create(path, 16 * 1024, { writeThrough: true });
    await m.write(new Uint8Array(4096).fill(5), 0);
    await m.writeFua(new Uint8Array(4096).fill(6), 4096);
    await m.close();
    const bytes = readFileSync(path);
    assert.ok(bytes.subarray(0, 4096).every((b) => b === 5));
    assert.ok(bytes.subarray(4096, 8192).every((b) => b === 6));
    const again = await FileMember.open(path, { writeThrough: true });
    await again.close();
    await again.close();
  } finally {
    t.done();
  }
});
