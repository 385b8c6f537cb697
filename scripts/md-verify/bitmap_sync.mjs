// asynctx's resync of an array left dirty, timed: `node bitmap_sync.mjs INDEX.JS bitmap|full MEMBER…`.
// bitmap: as assembly finds it (the write-intent bitmap says which chunks to resync);
// full: the bitmap headers marked stale first (md's BITMAP_STALE: every chunk is dirty),
// so the same members get a whole resync. Prints one JSON line: bytes walked, bytes the
// bitmap let it skip, mismatches rewritten, wall and CPU milliseconds of assemble + resync + stop.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const [mod, mode, ...paths] = process.argv.slice(2);
if (mode !== 'bitmap' && mode !== 'full') throw new Error(`mode ${mode}: bitmap or full`);
const raid = await import(mod);

/** Sets bitmap_super_t.state's BITMAP_STALE bit (state is the u32 at byte 48 of the header). */
async function markStale(path) {
  const m = await raid.FileMember.open(path, { readonly: true });
  const sb = await raid.readSuperblock(m);
  await m.close();
  const at = (sb.superOffset + sb.bitmapOffset) * 512 + 48;
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(4);
  readSync(fd, b, 0, 4, at);
  b.writeUInt32LE(b.readUInt32LE(0) | 2, 0);
  writeSync(fd, b, 0, 4, at);
  closeSync(fd);
}

if (mode === 'full') for (const p of paths) await markStale(p);
const t0 = performance.now();
const c0 = process.cpuUsage();
const members = await Promise.all(paths.map((p) => raid.FileMember.open(p)));
const { array } = await raid.assemble(members, { cleanDelayMs: 0 });
const dirtyAtStart = array.intent ? array.intent.dirtyCount() : -1;
const chunks = array.intent ? array.intent.chunks : -1;
const wasDirty = array.needsResync;
const r = await raid.resync(array);
await array.stop();
const cpu = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({
  mode, wasDirty, dirtyAtStart, chunks, bytes: r.bytes, skipped: r.skipped, mismatches: r.mismatches,
  wallMs: Math.round(performance.now() - t0), cpuMs: Math.round((cpu.user + cpu.system) / 1000),
}) + '\n');
