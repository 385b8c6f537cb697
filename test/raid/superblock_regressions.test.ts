/**
 * Regressions found by fuzzing superblocks: geometry that md refuses is refused
 * here too, with a typed error, before any table or loop is sized by it and
 * before anything is written.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assemble,
  decodeSuperblock,
  encodeSuperblock,
  examineText,
  readSuperblock,
  superOffsetFor,
  AssemblyError,
  SuperblockError,
  SECTOR,
  type MemoryMember,
  type Superblock,
} from '../../src/raid/index.js';
import { memoryArray } from './helpers.js';

async function members(n = 4): Promise<MemoryMember[]> {
  const { array, members: m } = await memoryArray(n, 4 << 20, { level: 5, chunkBytes: 65536 });
  await array.stop();
  return m;
}

/** Rewrites member `m`'s 1.2 superblock after `change` (checksum recomputed, as a crafted image would be). */
function rewrite(m: MemoryMember, change: (sb: Superblock) => void): void {
  const sectors = m.size / SECTOR;
  const at = superOffsetFor(2, sectors) * SECTOR;
  const sb = decodeSuperblock(m.data.subarray(at, at + 4096), 2, sectors);
  change(sb);
  m.data.set(encodeSuperblock(sb), sb.superOffset * SECTOR);
}

describe('superblock regressions', () => {
  it('regression: raid_disks = 4294967295 hung examine and exhausted the heap in detail', async () => {
    const [m] = await members();
    rewrite(m!, (sb) => (sb.raidDisks = 4294967295));
    const before = m!.data.slice();
    await assert.rejects(readSuperblock(m!), (e: unknown) => e instanceof SuperblockError && /raid_disks 4294967295/.test((e as Error).message));
    await assert.rejects(assemble([m!]), SuperblockError);
    assert.deepEqual(m!.data, before, 'nothing written');
  });

  it('regression: a used size larger than data_size was accepted (writes ran past the members)', async () => {
    const ms = await members();
    for (const m of ms) rewrite(m, (sb) => (sb.size = sb.dataSize + 8));
    await assert.rejects(assemble(ms), (e: unknown) => e instanceof AssemblyError || e instanceof SuperblockError);
    await assert.rejects(readSuperblock(ms[0]!), /used size .* exceeds its data_size/);
  });

  it('regression: a 1.0 superblock overlapping its data area was accepted (md: data overlaps metadata)', async () => {
    const [m] = await members();
    const sectors = m!.size / SECTOR;
    const at = superOffsetFor(2, sectors) * SECTOR;
    const sb = decodeSuperblock(m!.data.subarray(at, at + 4096), 2, sectors);
    m!.data.fill(0, 0, 1 << 20);
    sb.minorVersion = 0;
    sb.superOffset = superOffsetFor(0, sectors);
    sb.dataOffset = 0;
    sb.dataSize = sb.superOffset + 16; // reaches into the superblock
    sb.size = Math.min(sb.size, sb.dataSize);
    m!.data.set(encodeSuperblock(sb), sb.superOffset * SECTOR);
    await assert.rejects(readSuperblock(m!), /overlaps the metadata/);
  });

  it('regression: examine of a member with a huge role table stays linear (array state)', async () => {
    const [m] = await members();
    rewrite(m!, (sb) => {
      sb.raidDisks = 1920;
      sb.maxDev = 1920;
      sb.devRoles = Array.from({ length: 1920 }, (_, i) => (i < 4 ? i : 0xffff));
    });
    const t = performance.now();
    const sb = await readSuperblock(m!);
    const text = examineText(m!.name, sb, m!.size / SECTOR);
    assert.match(text, /Array State/);
    assert.ok(performance.now() - t < 2000);
  });

  it('regression: an assembly error listing every missing slot was megabytes long', async () => {
    const ms = await members();
    for (const m of ms) {
      rewrite(m, (sb) => {
        sb.raidDisks = 1900;
        sb.maxDev = 1920;
        sb.devRoles = [...sb.devRoles, ...Array.from({ length: 1920 - sb.devRoles.length }, () => 0xffff)];
      });
    }
    await assert.rejects(assemble(ms), (e: unknown) => {
      assert.ok(e instanceof AssemblyError, String(e));
      assert.ok((e as Error).message.length < 400, `message is ${(e as Error).message.length} chars`);
      assert.match((e as Error).message, /and \d+ more/);
      return true;
    });
  });

  it('regression: events near 2^53 — one write made the array unassemblable (writer and reader disagreed)', async () => {
    const ms = await members();
    for (const m of ms) rewrite(m, (sb) => (sb.events = Number.MAX_SAFE_INTEGER - 2));
    const before = ms.map((m) => m.data.slice());
    const { array } = await assemble(ms, { cleanDelayMs: 0 });
    await assert.rejects(array.write(new Uint8Array(4096).fill(1), 0), (e: unknown) => e instanceof SuperblockError && /events counter/.test((e as Error).message));
    await array.stop();
    ms.forEach((m, i) => assert.deepEqual(m.data, before[i], `member ${i} unchanged`));
    const again = await assemble(ms, { readonly: true });
    await again.array.stop();
  });
});
