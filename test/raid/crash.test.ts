/**
 * kill -9 in the middle of writes: the array is left dirty; assembly says so,
 * resync makes parity agree again, and every acknowledged write reads back.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { assemble, create, FileMember, resync, scrub } from '../../src/raid/index.js';
import { crashWrite } from './crash_plan.js';
import { bytes } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash_child.js', import.meta.url));

describe('crash (SIGKILL) during writes', () => {
  for (const { level, bitmap } of [{ level: 5, bitmap: false }, { level: 6, bitmap: false }, { level: 5, bitmap: true }]) {
    const what = bitmap ? ' with a write-intent bitmap: the chunks of every acknowledged write are dirty, the resync covers only dirty chunks' : '';
    it(`RAID-${level}${what}: assemble + resync, then every acknowledged write reads back`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'asynctx-crash-'));
      try {
        const paths = Array.from({ length: 5 }, (_, i) => join(dir, `m${i}`));
        const members = await Promise.all(paths.map((p) => FileMember.create(p, 4 << 20)));
        // 4 KiB bitmap chunks, and a daemon that never runs in the child: no bit is cleared before the kill.
        const withBitmap = bitmap ? { bitmap: 'internal' as const, bitmapChunkBytes: 4096, bitmapDelay: 3600 } : { bitmap: 'none' as const };
        const array = await create(members, { level, chunkBytes: 32768, assumeClean: true, ownsMembers: true, ...withBitmap });
        if (bitmap) {
          await array.intent!.daemonPass();
          await array.intent!.daemonPass();
        }
        const size = array.size;
        await array.stop();

        const child = spawn(process.execPath, [CHILD, ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
        let acked = -1;
        let out = '';
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (b: Buffer) => {
            out += b.toString();
            const lines = out.split('\n');
            out = lines.pop()!;
            for (const l of lines) if (l.startsWith('ACK ')) acked = Number(l.slice(4));
            if (acked >= 40 && !child.killed) {
              child.kill('SIGKILL');
            }
          });
          child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code} ${signal}`))));
        });
        assert.ok(acked >= 40);

        const again = await Promise.all(paths.map((p) => FileMember.open(p)));
        const { array: a, warnings } = await assemble(again.reverse(), { ownsMembers: true });
        assert.ok(warnings.some((w) => /not cleanly stopped/.test(w)), warnings.join('; '));
        assert.equal(a.needsResync, true);
        if (bitmap) {
          for (let i = 0; i <= acked; i++) {
            const w = crashWrite(i, size);
            const r = a.intent!.chunksFor(a.layout, w.at, w.len)!;
            for (let c = r.first; c <= r.last; c++) assert.ok(a.intent!.isNeeded(c), `write ${i}: chunk ${c} not dirty`);
          }
        }
        // The resync walks stripe heads (a.unit bytes): those holding a dirty chunk, and no others.
        const unitSectors = a.unit / 512;
        let dirtyUnits = 0;
        for (let s = 0; s < a.componentSectors; s += unitSectors) if (a.intent?.neededIn(s, s + unitSectors)) dirtyUnits++;
        const synced = await resync(a);
        if (bitmap) {
          assert.equal(synced.bytes - synced.skipped, dirtyUnits * a.unit);
          assert.ok(synced.skipped > 0, 'clean chunks were skipped');
        }
        assert.equal(a.needsResync, false);
        // Later writes to the same slot replace earlier ones: the last acknowledged write of each slot must be there.
        const last = new Map<number, number>();
        for (let i = 0; i <= acked; i++) last.set(Math.floor(crashWrite(i, size).at / (90 * 1024)), i);
        // The write in flight at the kill was never acknowledged: its slot may hold either version.
        last.delete(Math.floor(crashWrite(acked + 1, size).at / (90 * 1024)));
        for (const i of last.values()) {
          const w = crashWrite(i, size);
          const got = new Uint8Array(w.len);
          await a.read(got, w.at);
          assert.ok(Buffer.from(got).equals(Buffer.from(bytes(w.len, w.seed))), `acknowledged write ${i} lost`);
        }
        assert.equal((await scrub(a, 'check')).mismatches, 0);
        await a.stop();
        const { array: clean } = await assemble(await Promise.all(paths.map((p) => FileMember.open(p))), { readonly: true, ownsMembers: true });
        assert.equal(clean.dirty, false);
        await clean.stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
