/**
 * The RAID library as a user imports it: `asynctx/raid` through the package's
 * exports map (Node resolves the package's own name), running the README's
 * example on temporary files, and the package's own modules out of reach.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as raid from 'asynctx/raid';
import { ArrayStateError, assemble, create, FileMember, MemoryMember, RaidError, scrub } from 'asynctx/raid';
import { bytes } from './helpers.js';

describe('asynctx/raid', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'asynctx-raid-export-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs the README's example: assemble members from files, read a range, check", async () => {
    // An array to find: four files with a RAID-5 on them, some data written, stopped clean.
    const paths = [0, 1, 2, 3].map((i) => join(dir, `disk${i}.img`));
    const files = await Promise.all(paths.map((p) => FileMember.create(p, 4 << 20)));
    const made = await create(files, { level: 5, chunkBytes: 64 * 1024, assumeClean: true, ownsMembers: true });
    const data = bytes(3 << 20, 7);
    await made.write(data, 0);
    await made.stop();

    // The README's steps, members in another order.
    const members = await Promise.all([...paths].reverse().map((p) => FileMember.open(p, { readonly: true })));
    const { array, warnings } = await assemble(members, { readonly: true, ownsMembers: true });
    assert.deepEqual(warnings, []);
    const buf = new Uint8Array(1 << 20);
    await array.read(buf, 1 << 20);
    assert.ok(Buffer.from(buf).equals(Buffer.from(data.subarray(1 << 20, 2 << 20))));
    const { mismatches } = await scrub(array, 'check');
    assert.equal(mismatches, 0);
    assert.equal(array.levelName, 'raid5');
    await array.stop();
  });

  it('exports what a user calls and none of the internals; typed errors come from the same hierarchy', async () => {
    for (const name of ['assemble', 'create', 'readSuperblock', 'FileMember', 'MemoryMember', 'NbdMember', 'scrub', 'resync', 'rebuild', 'setConsistencyPolicy', 'detailText', 'ArrayTarget', 'NbdServer']) {
      assert.equal(typeof (raid as Record<string, unknown>)[name], 'function', name);
    }
    for (const name of ['internals', 'registerInternals', 'MemberTable', 'StripeCache', 'handleWrite', 'planWrite', 'analyse', 'encodeSuperblock', 'listSome']) {
      assert.equal(name in raid, false, name);
    }
    const members = [0, 1, 2].map((i) => new MemoryMember(`m${i}`, 4 << 20));
    const array = await create(members, { level: 5, chunkBytes: 16384, assumeClean: true, cleanDelayMs: 0 });
    await array.stop();
    await assert.rejects(array.read(new Uint8Array(1), 0), (e: unknown) => e instanceof ArrayStateError && e instanceof RaidError);
  });

  it("RaidArray's typed surface is what a user calls: the internals are stripped from its declarations", () => {
    const dts = readFileSync(fileURLToPath(new URL('../../src/raid/array.d.ts', import.meta.url)), 'utf8');
    for (const name of ['read(', 'write(', 'flush(', 'stop(', 'fail(', 'add(']) assert.ok(dts.includes(name), name);
    for (const name of ['readonly table:', 'readonly cache:', 'readonly env:', 'readonly ops:', 'markFaulty', 'updateSuperblocks', 'keepBitmap', 'markDirty', 'markClean', 'activateSpare', 'writesDone']) {
      assert.equal(dts.includes(name), false, name);
    }
  });

  it("the exports map keeps the package's own modules out of reach", async () => {
    const deep = 'asynctx/dist/src/raid/array.js';
    await assert.rejects(import(deep), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  });
});
