// The "Done when" timing, on the host (no VM): asynctx killed mid-write
// on a 1 GiB RAID-5 with an internal write-intent bitmap resyncs only what the
// bitmap marks dirty. The same array is crashed twice the same way (bitmap_writer.mjs,
// SIGKILL after ACKS writes into a few MiB): the first resync follows the bitmap,
// the second has the bitmap marked stale first (md's rule: every chunk dirty), a
// full resync; `raid check` then finds 0. Both timed (wall and CPU) by bitmap_sync.mjs.
//
//   npm run build && node scripts/md-verify/bitmap_timing.mjs [--bitmap-chunk 64M] [--dir DIR]
//
// Members are sparse files: outside the written region the resync reads holes,
// so a full pass here is cheaper than on a disk full of data.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const CHUNK = opt('--bitmap-chunk', '64M');
const DIR = opt('--dir', join(ROOT, '.md-verify-cache', 'timing'));
const INDEX = join(ROOT, 'dist/src/raid/index.js');
const ACKS = 40;
/** Four members of 342 MiB + 1 MiB data offset: a RAID-5 of 3 × 342 MiB ≈ 1 GiB. */
const MEMBER = '343M';
const REGION = 300 * 1024 * 1024;

function asx(argv) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/asynctx.js'), 'raid', ...argv, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`asynctx raid ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function killAfter(members, acks) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'bitmap_writer.mjs'), INDEX, String(REGION), ...members], { stdio: ['ignore', 'pipe', 'inherit'] });
    let n = -1;
    child.stdout.on('data', (d) => {
      for (const l of d.toString().split('\n')) if (l.startsWith('ACK ')) n = Number(l.slice(4));
      if (n >= acks && !child.killed) child.kill('SIGKILL');
    });
    child.on('close', (_code, signal) => (signal === 'SIGKILL' ? resolve(n) : reject(new Error('writer ended by itself'))));
  });
}

function timed(mode, members) {
  const r = spawnSync(process.execPath, [join(here, 'bitmap_sync.mjs'), INDEX, mode, ...members], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bitmap_sync ${mode}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
const members = [0, 1, 2, 3].map((i) => join(DIR, `m${i}.img`));
asx(['create', '--level', '5', '--chunk', '64K', '--bitmap', 'internal', '--bitmap-chunk', CHUNK, '--assume-clean', '--member-size', MEMBER, ...members]);
const arrayBytes = JSON.parse(asx(['detail', '--json', ...members])).arrayBytes;
const load0 = loadavg()[0];
const rows = [];
for (const mode of ['bitmap', 'full']) {
  const acked = await killAfter(members, ACKS);
  const dirty = JSON.parse(asx(['examine', '--bitmap', '--json', members[0]]))[0];
  const r = timed(mode, members);
  rows.push({ mode, acked: acked + 1, dirtyBits: `${dirty.dirty}/${dirty.bits}`, ...r });
}
const chk = JSON.parse(asx(['check', '--json', ...members]));
const MiB = (b) => (b / 1048576).toFixed(0);
process.stdout.write(`array ${MiB(arrayBytes)} MiB (RAID-5, 4 × ${MEMBER}, 64K chunks, bitmap chunk ${CHUNK}); load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)} on ${spawnSync('nproc').stdout.toString().trim()} cores\n`);
for (const r of rows) {
  process.stdout.write(`${r.mode.padEnd(6)} resync after kill -9 (${r.acked} writes acknowledged, ${r.dirtyBits} bits dirty): walked ${MiB(r.bytes - r.skipped)} of ${MiB(r.bytes)} MiB per member, ${r.wallMs} ms wall, ${r.cpuMs} ms CPU, ${r.mismatches} sectors rewritten\n`);
}
process.stdout.write(`check after both: ${chk.mismatches} mismatches\n`);
rmSync(DIR, { recursive: true, force: true });
process.exitCode = chk.mismatches === 0 && rows[0].skipped > 0 && rows[1].skipped === 0 ? 0 : 1;
