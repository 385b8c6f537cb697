// md-verify: arrays made by asynctx checked by the real Linux md driver, and
// arrays made by md read by asynctx, over a matrix of shapes (levels 4/5/6, every
// md layout, chunks 4K-512K, 3-32 members, member sizes 8 MiB to 2.5 GiB, mixed sizes).
//
//   forward (asynctx → md): `asynctx raid create`, payloads written with
//     `asynctx raid write`, and per variant: plain (initial resync), clean
//     (--assume-clean), missing (created degraded; md adds the member back and
//     recovers it), rebuilt (fail, degraded write, remove, add + asynctx
//     rebuild), recovering (the rebuild interrupted: md resumes it from
//     recovery_offset), corrupt (bytes flipped: md's mismatch_cnt must equal
//     asynctx's count). In the VM: mdadm --assemble, sha256 of the payloads as md
//     reads them, `check` → mismatch_cnt, sysfs, --detail, --examine; back on
//     the host asynctx checks and reads the members md has touched and prints
//     examine as mdadm did.
//   reverse (md → asynctx): mdadm --create in the VM (resync, --assume-clean, a
//     missing slot, metadata 1.0/1.1; or superblocks only on members up to
//     250 GiB), payloads written with dd, md's own check; then asynctx
//     detail/read/check, compared with md's numbers and md's --examine/--detail
//     text, and the superblock asynctx writes on members of the same sizes
//     compared field by field with md's (data offset, sizes, bad-block log…).
//   round 2: md-made arrays that asynctx rebuilt (degraded ones) or wrote into
//     (the others) go back to md: assemble, check, bytes.
//
// Usage: node scripts/md-verify/matrix.mjs [--full] [--filter SUBSTR[,SUBSTR…]] [--list] [--keep] [--live]
//        [--capture DIR]   (store md-made superblocks as test fixtures)
// Results: a table on stdout, every detail in .md-verify-cache/results.json. One run at a time.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, cpSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { badblockCases, badblockJob } from './badblock_cases.mjs';
import { bitmapCases, bitmapJob } from './bitmap_cases.mjs';
import { pplCases, pplJob } from './ppl_cases.mjs';
import { CACHE, ROOT, runVm } from './vm.mjs';
import { readAt } from './read_at.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
// The default run is a cross-section (every layout, level and variant; about a third of the shapes); --full runs them all.
const QUICK = !args.includes('--full');
const FILTER = opt('--filter');
const CAPTURE = opt('--capture');
const WORK = join(CACHE, 'work');
const MAX_DISKS_PER_VM = Number(opt('--disks-per-vm') ?? 96);

const K = 1024;
const M = 1024 * K;
const R5_LAYOUTS = ['left-asymmetric', 'right-asymmetric', 'left-symmetric', 'right-symmetric', 'parity-first', 'parity-last'];
const R6_EXTRA = ['left-asymmetric-6', 'right-asymmetric-6', 'left-symmetric-6', 'right-symmetric-6', 'parity-first-6', 'ddf-zero-restart', 'ddf-N-restart', 'ddf-N-continue'];
const CHUNKS = [4, 16, 64, 128, 512];
/** Member sizes in rotation: small, odd (33 MiB + 7 sectors), small, odd, 100 MiB. */
const SIZES = [8 * M, 33 * M + 7 * 512, 8 * M, 33 * M + 7 * 512, 100 * M];

/** The shapes: every layout × every chunk, member counts and sizes rotating through their ranges. */
function shapes() {
  const out = [];
  let rot = 0;
  for (const level of [5, 6]) {
    const counts = level === 5 ? [3, 4, 5, 6, 7, 8] : [4, 5, 6, 7, 8];
    for (const layout of R5_LAYOUTS) {
      for (const chunk of CHUNKS) {
        const n = counts[rot % counts.length];
        // 512K chunks need members of more than a few chunks.
        const size = SIZES[(rot * 3) % SIZES.length] === 8 * M && chunk === 512 && n < 5 ? 33 * M + 7 * 512 : SIZES[(rot * 3) % SIZES.length];
        out.push({ level, layout, chunk, n, size });
        rot++;
      }
    }
  }
  R6_EXTRA.forEach((layout, i) => out.push({ level: 6, layout, chunk: [16, 64, 128][i % 3], n: 5 + (i % 4), size: SIZES[i % 2] }));
  out.push({ level: 4, layout: 'parity-last', chunk: 64, n: 4, size: 33 * M });
  out.push({ level: 4, layout: 'parity-last', chunk: 512, n: 3, size: 8 * M });
  out.push({ level: 6, layout: 'left-symmetric', chunk: 64, n: 16, size: 33 * M });
  out.push({ level: 5, layout: 'left-symmetric', chunk: 512, n: 16, size: 8 * M });
  out.push({ level: 6, layout: 'right-symmetric', chunk: 16, n: 32, size: 8 * M, wide: true });
  // Chunks past mdadm's default.
  out.push({ level: 5, layout: 'right-asymmetric', chunk: 1024, n: 5, size: 33 * M + 7 * 512 });
  out.push({ level: 6, layout: 'left-symmetric', chunk: 4096, n: 4, size: 100 * M });
  // Members of different sizes: the data offset comes from the first member, the used size from the smallest.
  out.push({ level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 40 * M, sizes: [40 * M, 33 * M + 7 * 512, 60 * M, 36 * M], mixed: true });
  out.push({ level: 6, layout: 'right-symmetric', chunk: 128, n: 5, size: 20 * M, sizes: [20 * M, 100 * M, 9 * M + 512, 20 * M, 12 * M], mixed: true });
  // Large sparse members: mdadm's data offset grows with the device.
  out.push({ level: 5, layout: 'left-symmetric', chunk: 512, n: 4, size: 2560 * M, big: true });
  out.push({ level: 6, layout: 'right-asymmetric', chunk: 64, n: 4, size: 2049 * M, big: true });
  return out;
}

/** Superblock-only shapes: mdadm --create on large sparse members, stopped at once, superblocks compared (no data). */
function sbOnlyShapes() {
  const G = 1024 * M;
  return [
    { level: 5, layout: 'left-symmetric', chunk: 512, n: 4, size: 1 * G },
    { level: 5, layout: 'left-symmetric', chunk: 4, n: 3, size: 1 * G + 7 * 512 },
    { level: 6, layout: 'left-symmetric', chunk: 64, n: 4, size: 4 * G + 7 * 512 },
    { level: 5, layout: 'right-asymmetric', chunk: 128, n: 5, size: 9 * G },
    { level: 6, layout: 'parity-first', chunk: 512, n: 6, size: 16 * G },
    { level: 5, layout: 'left-symmetric', chunk: 16, n: 3, size: 64 * G + 4096 },
    { level: 6, layout: 'left-symmetric', chunk: 512, n: 4, size: 99 * G },
    { level: 5, layout: 'left-symmetric', chunk: 512, n: 3, size: 250 * G },
    // Past 128 members the superblock's role table outgrows 512 bytes (max_dev).
    { level: 6, layout: 'left-symmetric', chunk: 64, n: 130, size: 8 * M, fullOnly: true },
    { level: 5, layout: 'right-asymmetric', chunk: 4, n: 200, size: 8 * M, fullOnly: true },
  ];
}

function shapeId(s) {
  const mib = (b) => (b % M ? `${(b / M).toFixed(2)}M` : `${b / M}M`);
  return `r${s.level}-${s.layout}-${s.chunk}k-${s.sizes ? `mixed-${s.sizes.map(mib).join('+')}` : `${s.n}x${mib(s.size)}`}`;
}

/** Size of member i of a case. */
const sizeOf = (c, i) => c.sizes?.[i] ?? c.size;

/**
 * Cases: each shape forward and reverse, the variant rotating (forward: plain,
 * clean, missing, rebuilt, corrupt, recovering, spare; reverse: resync, clean,
 * missing, spare), plus superblock-only and metadata 1.0/1.1 cases. The default run
 * keeps every third shape (every layout of every level is still there) and the
 * special ones; variants rotate over the shapes kept, so every variant runs.
 */
function casesOf(shapeList, full = false) {
  const list = [];
  shapeList.forEach((s, i) => {
    const fwd = s.big ? 'clean' : ['plain', 'clean', 'missing', 'rebuilt', 'corrupt', 'recovering', 'spare'][i % 7];
    const rev = s.big ? 'clean' : ['resync', 'clean', 'missing', 'spare'][i % 4];
    list.push({ ...s, dir: 'fwd', variant: fwd, id: `fwd-${fwd}-${shapeId(s)}` });
    list.push({ ...s, dir: 'rev', variant: rev, id: `rev-${rev}-${shapeId(s)}` });
  });
  for (const s of sbOnlyShapes().filter((x) => full || !x.fullOnly)) list.push({ ...s, dir: 'rev', variant: 'sbonly', id: `rev-sbonly-${shapeId(s)}` });
  // md arrays with the older superblock places: 1.0 (at the end, data from sector 0) and 1.1 (at the start).
  for (const [meta, s] of [
    ['1.0', { level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 33 * M + 7 * 512 }],
    ['1.0', { level: 6, layout: 'right-asymmetric', chunk: 16, n: 5, size: 8 * M }],
    ['1.1', { level: 5, layout: 'right-symmetric', chunk: 128, n: 3, size: 33 * M + 7 * 512 }],
    ['1.1', { level: 6, layout: 'left-symmetric', chunk: 512, n: 6, size: 8 * M }],
  ]) list.push({ ...s, dir: 'rev', variant: 'clean', meta, id: `rev-meta${meta.replace('.', '')}-${shapeId(s)}` });
  // The same places written by asynctx (create --metadata): md assembles, checks and reads them.
  for (const [meta, variant, s] of [
    ['1.0', 'plain', { level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 33 * M + 7 * 512 }],
    ['1.0', 'missing', { level: 6, layout: 'right-asymmetric', chunk: 16, n: 5, size: 8 * M }],
    ['1.1', 'clean', { level: 5, layout: 'right-symmetric', chunk: 128, n: 3, size: 33 * M + 7 * 512 }],
    ['1.1', 'rebuilt', { level: 6, layout: 'left-symmetric', chunk: 512, n: 6, size: 8 * M }],
  ]) list.push({ ...s, dir: 'fwd', variant, meta, id: `fwd-meta${meta.replace('.', '')}-${variant}-${shapeId(s)}` });
  // md arrays made with mdadm's own choices overridden: a smaller used size, a chosen data offset.
  for (const [tag, extra, s] of [
    ['size20M', '--size=20480', { level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 33 * M + 7 * 512 }],
    ['offset7M', '--data-offset=7M', { level: 6, layout: 'left-symmetric', chunk: 128, n: 5, size: 33 * M + 7 * 512 }],
  ]) list.push({ ...s, dir: 'rev', variant: 'clean', mdExtra: extra, id: `rev-${tag}-${shapeId(s)}` });
  // The partial parity log across a crash, both ways (ppl_cases.mjs).
  list.push(...pplCases());
  // Write-intent bitmaps both ways, across crashes and re-adds (bitmap_cases.mjs).
  list.push(...bitmapCases());
  // md's bad-block log both ways: md injects and lists, asynctx lists, reads around and writes over them (badblock_cases.mjs).
  list.push(...badblockCases());
  return list;
}

function cases() {
  const all = shapes();
  const quick = casesOf(all.filter((s, i) => i % 3 === 0 || s.big || s.mixed || s.wide || s.level === 4));
  if (!FILTER) return QUICK ? quick : casesOf(all, true);
  // --filter a,b,c keeps the cases (of the default run or the full one) whose id contains any of the substrings.
  const seen = new Set();
  return [...quick, ...casesOf(all, true)].filter((c) => !seen.has(c.id) && seen.add(c.id) && FILTER.split(',').some((f) => c.id.includes(f)));
}

/**
 * asynctx runs from a snapshot of bin/ and dist/ taken at start, so that a
 * rebuild in the working tree during a run cannot mix versions (--live: no snapshot).
 */
let ASX = join(ROOT, 'bin/asynctx.js');
function snapshot() {
  if (args.includes('--live')) return;
  const snap = join(CACHE, 'snapshot');
  rmSync(snap, { recursive: true, force: true });
  mkdirSync(snap, { recursive: true });
  for (const d of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, d), join(snap, d), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(snap, 'node_modules'));
  ASX = join(snap, 'bin/asynctx.js');
}

/** Runs `asynctx raid …`; resolves with stdout (parsed with json), or {error} with allowFail. */
function asx(argv, { json = false, allowFail = false, interruptOn } = {}) {
  // interruptOn: a pattern of the progress lines on stderr; SIGINT is sent when it first shows.
  const full = [ASX, 'raid', ...argv, ...(json ? ['--json'] : []), ...(interruptOn ? [] : ['--quiet'])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, full, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      if (interruptOn && !sent && interruptOn.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && !allowFail) reject(new Error(`asynctx raid ${argv.join(' ')} → ${code}: ${err.trim()}`));
      else if (code !== 0) resolve({ error: err.trim() || `exit ${code}`, status: code });
      else resolve(json ? JSON.parse(out) : out);
    });
  });
}

const sha = (b) => createHash('sha256').update(b).digest('hex');

function sparse(path, size) {
  rmSync(path, { force: true });
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
}

/** Member paths of a case (slot order) and the spare/replacement paths. */
function paths(c) {
  const dir = join(WORK, c.id);
  return {
    dir,
    members: Array.from({ length: c.n }, (_, i) => join(dir, `m${i}.img`)),
    spare: join(dir, 'spare.img'),
    p1: join(dir, 'payload1.bin'),
    p2: join(dir, 'payload2.bin'),
  };
}

/** The images a case attaches to the VM, in target order: members, then (reverse) the payloads, then a spare. */
function vmDisks(c) {
  const p = paths(c);
  const spare = c.variant === 'spare' ? [p.spare] : [];
  if (c.dir !== 'rev') return [...p.members, ...spare];
  return c.variant === 'sbonly' ? p.members : [...p.members, p.p1, p.p2, ...spare];
}

/** Slots left out in the degraded variants: one for RAID-4/5; for RAID-6 one or two. */
function missingSlots(c) {
  if (c.level !== 6) return [c.n - 2];
  return c.n % 2 ? [0, c.n - 1] : [1];
}

/**
 * Payload sizes: the first, at offset 0, covers 2n+1 chunk rows (every layout
 * repeats within n rows) where the array allows; the second, 512-byte aligned
 * but not chunk aligned, ends 5 sectors before the end of the array.
 */
function payloadPlan(arrayBytes, c) {
  const dataDisks = c.n - (c.level === 6 ? 2 : 1);
  const rows = (2 * c.n + 1) * c.chunk * K * dataDisks;
  let p1 = Math.min(Math.floor(arrayBytes / 2), Math.max(rows, 3 * M + 5 * 512), 32 * M);
  p1 -= p1 % 512;
  let p2 = Math.min(Math.floor(arrayBytes / 4), 300 * K + 3 * 512);
  p2 -= p2 % 512;
  const o2 = arrayBytes - p2 - 5 * 512;
  return { p1, p2, o2 };
}

const results = [];
function record(c, row) {
  results.push({ id: c.id, dir: c.dir, variant: c.variant, level: c.level, layout: c.layout, chunk: c.chunk, n: c.n, size: c.size, ...row });
}

// ---------------------------------------------------------------- forward, host side
async function forwardPrepare(c) {
  const p = paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  const miss = c.variant === 'missing' ? missingSlots(c) : [];
  const argv = ['create', '--level', String(c.level), '--layout', c.layout, '--chunk', `${c.chunk}K`, '--name', c.id.slice(0, 20)];
  if (c.meta) argv.push('--metadata', c.meta);
  if (c.sizes) p.members.forEach((m, i) => sparse(m, sizeOf(c, i)));
  else argv.push('--member-size', String(c.size));
  if (c.variant === 'clean') argv.push('--assume-clean');
  argv.push(...p.members.map((m, i) => (miss.includes(i) ? 'missing' : m)));
  await asx(argv);
  const present = p.members.filter((_, i) => !miss.includes(i));
  const det = await asx(['detail', ...present], { json: true });
  const plan = payloadPlan(det.arrayBytes, c);
  writeFileSync(p.p1, randomBytes(plan.p1));
  writeFileSync(p.p2, randomBytes(plan.p2));
  await asx(['write', '--input', p.p1, ...present]);
  let extra = {};
  if (c.variant === 'rebuilt' || c.variant === 'recovering') {
    // Fail a member, write while degraded, then replace it and rebuild with asynctx;
    // 'recovering' interrupts the rebuild (SIGINT: checkpoint in recovery_offset) and leaves md to finish it.
    const k = c.n - 1;
    await asx(['fail', '--member', String(k), ...p.members]);
    await asx(['write', '--input', p.p2, '--offset', String(plan.o2), ...p.members]);
    await asx(['remove', '--member', p.members[k], ...p.members]);
    rmSync(p.members[k]);
    if (c.variant === 'rebuilt') await asx(['add', '--member', p.members[k], ...p.members.filter((_, i) => i !== k)]);
    else {
      await asx(['add', '--no-rebuild', '--member', p.members[k], ...p.members.filter((_, i) => i !== k)]);
      const r = await asx(['rebuild', ...p.members], { allowFail: true, interruptOn: /rebuild: [1-9]0%/ });
      const sb = (await asx(['examine', p.members[k]], { json: true }))[0];
      extra = { interrupted: r.status === 130, recoveryOffset: sb.recoveryOffset, featureMap: sb.featureMap };
    }
  } else {
    await asx(['write', '--input', p.p2, '--offset', String(plan.o2), ...present]);
  }
  if (miss.length) for (const i of miss) sparse(p.members[i], sizeOf(c, i)); // blank replacements for md to recover onto
  if (c.variant === 'corrupt') extra = await corrupt(c, p, det);
  if (c.variant === 'spare') {
    // A member added to a whole array becomes a spare (role 0xffff), as in md.
    sparse(p.spare, sizeOf(c, 0));
    await asx(['add', '--member', p.spare, ...p.members]);
  }
  return { det, plan, miss, ...extra, sb0: (await asx(['examine', present[0]], { json: true }))[0] };
}

/**
 * Flips bytes between the two payloads (60-65% into each member's data): two on
 * different members within one 4 KiB stripe, one across a 4 KiB boundary, one
 * alone; then asks asynctx how many sectors mismatch. md must count the same.
 */
async function corrupt(c, p, det) {
  const sb = (await asx(['examine', p.members[0]], { json: true }))[0];
  const base = sb.dataOffset * 512;
  const comp = det.componentSectors * 512;
  const at = (frac, plus) => base + Math.floor((comp * frac) / 4096) * 4096 + plus;
  const hits = [
    [0, at(0.6, 100)],
    [1, at(0.6, 3000)],
    [2 % c.n, at(0.62, 4095)],
    [(c.n - 1), at(0.64, 777)],
  ];
  for (const [m, pos] of hits) {
    const fd = openSync(p.members[m], 'r+');
    const b = Buffer.alloc(2);
    readSync(fd, b, 0, 2, pos);
    b[0] ^= 0x5a;
    b[1] ^= 0xa5;
    writeSync(fd, b, 0, 2, pos);
    closeSync(fd);
  }
  const chk = await asx(['check', ...p.members], { json: true });
  return { asxMismatchBefore: chk.mismatches };
}

/**
 * For members of gigabytes (c.big), md checks two windows of member sectors,
 * the first and the last 96 MiB (where the payloads are), not the zeros between:
 * a whole check of them takes minutes in an emulated VM. Empty for the others.
 */
function checkWindows(c, componentSectors, md) {
  if (!c.big) return '';
  const w = 96 * 2048;
  const end = componentSectors ? String(componentSectors) : 'max';
  const tail = componentSectors ? componentSectors - w : `$(( $(cat /sys/block/${md}/md/component_size) * 2 - ${w} ))`;
  return ` 0 ${w} ${tail} ${end}`;
}

function forwardJob(c, base, prep, md) {
  const { plan, miss } = prep;
  const devs = Array.from({ length: c.n }, (_, i) => i).filter((i) => !miss.includes(i));
  const L = [];
  L.push(`echo "@@CASE ${c.id}"; tick start`);
  if (c.variant === 'spare') devs.push(c.n);
  L.push(`mdadm --assemble /dev/${md} --run ${devs.map((i) => `$(dev ${base + i})`).join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  L.push(`echo "@@ATSTART $(cat /sys/block/${md}/md/array_state) $(cat /sys/block/${md}/md/sync_action) degraded=$(cat /sys/block/${md}/md/degraded)"`);
  L.push(`mdwait ${md}`);
  L.push(`echo "@@SHA1 $(devsha /dev/${md} 0 ${plan.p1})"; echo "@@SHA2 $(devsha /dev/${md} ${plan.o2} ${plan.p2})"`);
  for (const i of miss) L.push(`mdadm /dev/${md} --add $(dev ${base + i}) 2>&1 | sed 's/^/@@LOG /'; mdwait ${md}`);
  if (miss.length) L.push(`echo "@@SHA1R $(devsha /dev/${md} 0 ${plan.p1})"; echo "@@SHA2R $(devsha /dev/${md} ${plan.o2} ${plan.p2})"`);
  L.push(`tick check; mdcheck ${md}${checkWindows(c, prep.det?.componentSectors, md)}; tick checked`);
  L.push(`mdinfo ${md}`);
  L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'`);
  L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`mdadm --examine $(dev ${base + devs[0]}) | sed 's/^/@@EXAMINE /'`);
  // Every member md had (and a spare), each as mdadm --examine prints it.
  for (const i of [...devs, ...miss]) L.push(`mdadm --examine $(dev ${base + i}) | sed 's/^/@@EX${i} /'`);
  L.push('fi');
  L.push(`tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}


/** "Label : value" pairs of mdadm-style output (first occurrence of each label wins). */
function fields(lines) {
  const m = new Map();
  for (const l of lines) {
    const i = l.indexOf(' : ');
    // mdadm adds "(local to host H)" after the name when H is the machine it runs on: not on disk, so not compared.
    if (i > 0 && !m.has(l.slice(0, i).trim())) m.set(l.slice(0, i).trim(), l.slice(i + 3).replace(/\s+\(local to host [^)]*\)$/, '').trim());
  }
  return m;
}

/** Lines of `mdadm --examine` and `asynctx raid examine` of the same superblock that differ (device name line aside). */
function examineDiffs(mdLines, asxText) {
  const a = fields(mdLines.slice(1));
  const b = fields(asxText.split('\n').slice(1).filter((l) => !l.includes('(asynctx)')));
  const out = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) if (a.get(k) !== b.get(k)) out.push(`${k}: md "${a.get(k) ?? ''}" asynctx "${b.get(k) ?? ''}"`);
  return out;
}

/** Fields of `mdadm --detail` (running array) that `asynctx raid detail` (stopped array) must print the same. */
const DETAIL_FIELDS = ['Version', 'Creation Time', 'Raid Level', 'Array Size', 'Used Dev Size', 'Raid Devices', 'Total Devices', 'Persistence', 'State', 'Active Devices', 'Working Devices', 'Failed Devices', 'Spare Devices', 'Layout', 'Chunk Size', 'Consistency Policy', 'Name', 'UUID'];

function detailDiffs(mdLines, asxText) {
  const a = fields(mdLines);
  const b = fields(asxText.split('\n'));
  const out = DETAIL_FIELDS.filter((k) => a.get(k) !== b.get(k)).map((k) => `${k}: md "${a.get(k) ?? ''}" asynctx "${b.get(k) ?? ''}"`);
  // The member table: Number and RaidDevice and State per row, in md's order.
  const rows = (lines) => lines.filter((l) => /^\s+(-?\d+|-)\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)\s+\S/.test(l)).map((l) => {
    const t = l.trim().split(/\s+/);
    const state = t.slice(4).filter((x) => !x.includes('/') && !x.endsWith('.img')).join(' ');
    // Major and minor are the VM's device numbers: compared only where md prints 0 0 (an empty slot).
    return `${t[0]} ${state === 'removed' ? `${t[1]} ${t[2]} ` : ''}${t[3]} ${state}`;
  });
  const ra = rows(mdLines);
  const rb = rows(asxText.split('\n'));
  if (ra.join('|') !== rb.join('|')) out.push(`device table: md [${ra.join('; ')}] asynctx [${rb.join('; ')}]`);
  return out;
}

/** Every member's `mdadm --examine` (index: member, n = the spare) against `asynctx raid examine` of the same file. */
async function examineAll(c, out) {
  const p = paths(c);
  const diffs = [];
  for (const [k, lines] of Object.entries(out.examineBy ?? {})) {
    const file = Number(k) === c.n ? p.spare : p.members[Number(k)];
    const ex = await asx(['examine', file], { allowFail: true });
    for (const d of ex.error ? [ex.error] : examineDiffs(lines, ex)) diffs.push(`member ${k}: ${d}`);
  }
  return diffs;
}

async function forwardVerify(c, prep, out) {
  const p = paths(c);
  // 'corrupt': md's mismatch_cnt must equal what asynctx counted (before and after md), and not be 0.
  const expected = c.variant === 'corrupt' ? String(prep.asxMismatchBefore) : '0';
  const row = { assemble: !!out.assembled, atStart: out.atStart, mismatch: out.check?.mismatch, checkRan: out.check?.last === 'check' };
  row.bytes1 = out.sha1 === sha(readFileSync(p.p1));
  row.bytes2 = out.sha2 === sha(readFileSync(p.p2));
  if (out.sha1r !== undefined) row.bytesAfterRecovery = out.sha1r === sha(readFileSync(p.p1)) && out.sha2r === sha(readFileSync(p.p2));
  row.mdState = fields(out.detail).get('State');
  row.mdSizeOk = Number(out.md.size_sectors) * 512 === prep.det.arrayBytes;
  row.mdOffsetOk = out.md.devs.length > 0 && out.md.devs.every((d) => Number(d.offset) === prep.sb0.dataOffset);
  row.mdComponentOk = Number(out.md.component_size) * 2 === prep.det.componentSectors;
  row.raw = { log: out.log, detail: out.detail, examine: out.examine, times: out.times };
  if (row.assemble) {
    // Back on the host: asynctx reads what md has written (events, roles) and checks parity itself.
    const chk = await asx(['check', ...p.members], { json: true, allowFail: true });
    row.asxCheckAfterMd = chk.error ? chk.error : chk.mismatches;
    const rd = join(p.dir, 'readback.bin');
    const r = await asx(['read', '--output', rd, '--length', String(prep.plan.p1), ...p.members], { allowFail: true });
    row.asxReadAfterMd = r.error ? r.error : sha(readFileSync(rd)) === sha(readFileSync(p.p1));
    const first = p.members.findIndex((_, i) => !prep.miss.includes(i));
    const ex = await asx(['examine', p.members[first]], { allowFail: true });
    row.examineDiffs = ex.error ? [ex.error] : examineDiffs(out.examine, ex);
    row.examineDiffs.push(...(await examineAll(c, out)));
    if (c.variant === 'spare') row.mdSpares = fields(out.detail).get('Spare Devices');
    if (c.variant === 'corrupt' && row.mismatch === expected) {
      // asynctx repairs; round 2 has md check it again (0 expected).
      const r = await asx(['repair', ...p.members], { json: true, allowFail: true });
      row.asxRepaired = r.error ?? r.repaired;
      round2.push({ c, prep, id2: c.id.replace(/^fwd-corrupt-/, 'fwd2-repaired-'), variant2: 'repaired' });
    }
  }
  if (c.variant === 'corrupt') row.asxMismatchBefore = prep.asxMismatchBefore;
  if (c.variant === 'recovering') Object.assign(row, { interrupted: prep.interrupted, recoveryOffset: prep.recoveryOffset });
  // Only an interrupted rebuild may leave md something to do at assembly (it resumes the recovery).
  const startOk = c.variant === 'recovering' ? !/resync/.test(row.atStart ?? '') : !/resync|recover/.test(row.atStart ?? '');
  row.ok = row.assemble && row.mismatch === expected && (expected !== '0') === (c.variant === 'corrupt') && row.checkRan && row.bytes1 && row.bytes2 && row.bytesAfterRecovery !== false &&
    row.mdState === 'clean' && row.mdSizeOk && row.mdOffsetOk && row.mdComponentOk && String(row.asxCheckAfterMd) === expected && row.asxReadAfterMd === true &&
    startOk && row.examineDiffs?.length === 0 && (c.variant !== 'spare' || row.mdSpares === '1') &&
    (c.variant !== 'corrupt' || row.asxRepaired === prep.asxMismatchBefore);
  record(c, row);
}

// ---------------------------------------------------------------- reverse, VM side then host
async function reversePrepare(c) {
  const p = paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  p.members.forEach((m, i) => sparse(m, sizeOf(c, i)));
  if (c.variant === 'spare') sparse(p.spare, sizeOf(c, 0));
  if (c.variant === 'sbonly') return { plan: null, miss: [] };
  // The array size md will pick is unknown here; keep payloads inside a conservative bound.
  const dataDisks = c.n - (c.level === 6 ? 2 : 1);
  const smallest = Math.min(...p.members.map((_, i) => sizeOf(c, i)));
  const plan = payloadPlan((smallest - 4 * M - (smallest >= 1024 * M ? 130 * M : 0)) * dataDisks, c);
  writeFileSync(p.p1, randomBytes(plan.p1));
  writeFileSync(p.p2, randomBytes(plan.p2));
  return { plan, miss: c.variant === 'missing' ? missingSlots(c) : [] };
}

/**
 * mdadm 4.2 adds an internal write-intent bitmap by itself when members exceed
 * 100 GiB; these shapes compare the superblock without one (create --bitmap none
 * on the asynctx side); bitmap_cases.mjs covers arrays over 100 GiB with mdadm's bitmap.
 */
function bitmapArg(c) {
  return c.size > 100 * 1024 * M ? '--bitmap=none' : '';
}

function mdLayoutArg(c) {
  return c.level === 4 ? '' : `--layout=${c.layout}`;
}

function reverseJob(c, base, prep, md) {
  const { plan, miss } = prep;
  // Disks: members base..base+n-1, then payload 1 and payload 2, then a spare.
  const devs = Array.from({ length: c.n }, (_, i) => (miss.includes(i) ? 'missing' : `$(dev ${base + i})`));
  if (c.variant === 'spare') devs.push(`--spare-devices=1 $(dev ${base + c.n + 2})`);
  const L = [];
  L.push(`echo "@@CASE ${c.id}"; tick start`);
  const clean = c.variant === 'clean' || c.variant === 'sbonly' || c.variant === 'spare';
  L.push(`mdadm --create /dev/${md} --run --metadata=${c.meta ?? '1.2'} --name=${c.id.slice(0, 20)} --level=${c.level} ${mdLayoutArg(c)} --chunk=${c.chunk} --raid-devices=${c.n} ${clean ? '--assume-clean' : ''} ${bitmapArg(c)} ${c.mdExtra ?? ''} ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  if (c.variant === 'sbonly') {
    L.push(`mdinfo ${md}`);
    L.push(`echo "@@ARRAYSIZE $(($(cat /sys/block/${md}/size) * 512))"`);
    L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'`);
    L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
    L.push(`mdadm --examine $(dev ${base}) | sed 's/^/@@EXAMINE /'`);
    L.push('fi');
    L.push(`tick end; echo "@@ENDCASE ${c.id}"`);
    return L.join('\n');
  }
  L.push(`mdwait ${md}`);
  L.push(`echo "@@ARRAYSIZE $(($(cat /sys/block/${md}/size) * 512))"`);
  L.push(`dd if=$(dev ${base + c.n}) of=/dev/${md} bs=64k 2>/dev/null; sync`);
  L.push(`dd if=$(dev ${base + c.n + 1}) of=/dev/${md} bs=512 seek=$(( ($(cat /sys/block/${md}/size) * 512 - ${plan.p2} - 2560) / 512 )) 2>/dev/null; sync`);
  L.push(`echo "@@SHA1 $(devsha /dev/${md} 0 ${plan.p1})"`);
  if (!miss.length) L.push(`tick check; mdcheck ${md}${checkWindows(c, null, md)}; tick checked`);
  L.push(`mdinfo ${md}`);
  L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'`);
  L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`mdadm --examine $(dev ${base + (miss.includes(0) ? 1 : 0)}) | sed 's/^/@@EXAMINE /'`);
  for (let i = 0; i < c.n; i++) if (!miss.includes(i)) L.push(`mdadm --examine $(dev ${base + i}) | sed 's/^/@@EX${i} /'`);
  if (c.variant === 'spare') L.push(`mdadm --examine $(dev ${base + c.n + 2}) | sed 's/^/@@EX${c.n} /'`);
  L.push('fi');
  L.push(`tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

/** Superblock fields that depend only on the shape and the members, not on time or randomness. */
const GEOMETRY_FIELDS = ['minorVersion', 'featureMap', 'level', 'layout', 'size', 'chunkSize', 'raidDisks', 'dataOffset', 'dataSize', 'superOffset', 'bblogShift', 'bblogSize', 'bblogOffset', 'bitmapOffset', 'newLevel', 'newLayout', 'newChunk', 'deltaDisks', 'reshapePosition', 'newOffset', 'resyncOffset', 'recoveryOffset', 'devflags', 'cntCorrectedRead', 'maxDev'];

async function reverseVerify(c, prep, out) {
  const p = paths(c);
  const row = { assemble: !!out.assembled, mismatch: out.check?.mismatch ?? (prep.miss.length ? 'n/a (degraded)' : undefined) };
  row.raw = { log: out.log, detail: out.detail, examine: out.examine, times: out.times };
  const present = p.members.filter((_, i) => !prep.miss.includes(i));
  const arrayBytes = Number(out.arraySize);
  const o2 = prep.plan ? arrayBytes - prep.plan.p2 - 2560 : 0;
  row.mdBytes = prep.plan ? out.sha1 === sha(readFileSync(p.p1)) : undefined;
  if (!row.assemble) return record(c, { ...row, ok: false });
  // Members md knows: the present ones and a spare.
  const known = [...present, ...(c.variant === 'spare' ? [p.spare] : [])];
  const det = await asx(['detail', ...known], { json: true, allowFail: true });
  if (det.error) return record(c, { ...row, asxAssemble: det.error, ok: false });
  row.asxAssemble = true;
  row.asxSizeOk = det.arrayBytes === arrayBytes;
  row.asxComponentOk = det.componentSectors === Number(out.md.component_size) * 2;
  row.asxOffsetOk = det.members.filter((m) => m.path).every((m) => m.dataOffset === Number(out.md.devs[0]?.offset));
  const sbOnly = c.variant === 'sbonly';
  const rd = join(p.dir, 'readback.bin');
  if (!sbOnly) {
    await asx(['read', '--output', rd, '--length', String(prep.plan.p1), ...present]);
    row.asxBytes1 = sha(readFileSync(rd)) === sha(readFileSync(p.p1));
    await asx(['read', '--output', rd, '--offset', String(o2), '--length', String(prep.plan.p2), ...present]);
    row.asxBytes2 = sha(readFileSync(rd)) === sha(readFileSync(p.p2));
  }
  if (!prep.miss.length && !sbOnly) {
    const chk = await asx(['check', ...present], { json: true, allowFail: true });
    row.asxMismatch = chk.error ?? chk.mismatches;
  }
  // What mdadm printed about the stopped array's members and the running array, against asynctx's reports.
  const ex = await asx(['examine', p.members[prep.miss.includes(0) ? 1 : 0]], { allowFail: true });
  row.examineDiffs = ex.error ? [ex.error] : examineDiffs(out.examine, ex);
  row.examineDiffs.push(...(await examineAll(c, out)));
  const dt = await asx(['detail', ...known], { allowFail: true });
  row.detailDiffs = dt.error ? [dt.error] : detailDiffs(out.detail, dt);
  // The superblock asynctx writes on blank members of the same size, field by field against md's (asynctx writes 1.2 only).
  const twin = join(p.dir, 'twin');
  mkdirSync(twin, { recursive: true });
  const tw = Array.from({ length: c.n }, (_, i) => join(twin, `t${i}.img`));
  tw.forEach((t, i) => sparse(t, sizeOf(c, i)));
  // md was given --bitmap=none over 100 GiB (bitmapArg): so is asynctx, whose default there is mdadm 4.2's bitmap.
  await asx(['create', '--assume-clean', '--level', String(c.level), '--layout', c.layout, '--chunk', `${c.chunk}K`, ...(bitmapArg(c) ? ['--bitmap', 'none'] : []), ...tw]);
  const mine = (await asx(['examine', tw[0]], { json: true }))[0];
  const theirs = (await asx(['examine', present[0]], { json: true }))[0];
  row.sbDiffs = c.meta || c.mdExtra ? [] : GEOMETRY_FIELDS.filter((f) => JSON.stringify(mine[f]) !== JSON.stringify(theirs[f])).map((f) => `${f}: asynctx ${mine[f]} md ${theirs[f]}`);
  rmSync(twin, { recursive: true, force: true });
  if (CAPTURE && !c.meta && !c.mdExtra) capture(c, present, out);
  if (prep.miss.length) {
    // asynctx rebuilds the md-made degraded array onto fresh members; round 2 takes it back to md.
    for (const i of prep.miss) {
      sparse(p.members[i], c.size);
      await asx(['add', '--member', p.members[i], ...p.members.filter((_, j) => !prep.miss.includes(j) || j < i)]);
    }
    const chk = await asx(['check', ...p.members], { json: true, allowFail: true });
    row.asxMismatchAfterRebuild = chk.error ?? chk.mismatches;
    round2.push({ c, prep: { ...prep, plan: { ...prep.plan, o2 }, miss: [] } });
  } else if (!sbOnly && row.asxMismatch === 0) {
    // asynctx writes into the md-made array (a fresh payload 2, mid-array, neither chunk- nor 4K-aligned); round 2 takes it back to md.
    const o3 = Math.floor((arrayBytes * 0.55) / 4096) * 4096 + 3 * 512;
    writeFileSync(p.p2, randomBytes(prep.plan.p2));
    const w = await asx(['write', '--input', p.p2, '--offset', String(o3), ...p.members], { allowFail: true });
    row.asxWrite = w.error ?? true;
    if (!w.error) round2.push({ c, prep: { ...prep, plan: { ...prep.plan, o2: o3 }, miss: [] } });
  }
  const dataOk = sbOnly || (row.mdBytes && row.asxBytes1 && row.asxBytes2 && (prep.miss.length ? row.asxMismatchAfterRebuild === 0 : row.asxMismatch === 0 && row.mismatch === '0' && row.asxWrite === true));
  row.ok = dataOk && row.asxSizeOk && row.asxComponentOk && row.asxOffsetOk &&
    row.sbDiffs.length === 0 && row.examineDiffs.length === 0 && row.detailDiffs.length === 0;
  record(c, row);
}

/** Saves md's superblocks (4 KiB at 4 KiB of each member), the member size and md's numbers as a gzipped JSON fixture. */
function capture(c, present, out) {
  mkdirSync(CAPTURE, { recursive: true });
  const p = paths(c);
  const fx = {
    id: c.id, level: c.level, layout: c.layout, chunkKiB: c.chunk, raidDisks: c.n, variant: c.variant,
    memberBytes: p.members.map((_, i) => sizeOf(c, i)),
    md: { arrayBytes: Number(out.arraySize), componentKiB: Number(out.md.component_size), dataOffset: Number(out.md.devs[0]?.offset), sysfs: out.md },
    // Slot order; null where the slot was created missing.
    superblocks: p.members.map((m) => (present.includes(m) ? readAt(m, 4096, 4096).toString('base64') : null)),
    examineSlot: p.members.indexOf(present[0]),
    examine: out.examine.join('\n'),
    detail: out.detail.join('\n'),
  };
  writeFileSync(join(CAPTURE, `${c.id}.json.gz`), gzipSync(JSON.stringify(fx), { level: 9 }));
}

// ---------------------------------------------------------------- VM output
function parse(text) {
  const byCase = new Map();
  let cur = null;
  for (const line of text.split('\n')) {
    // mdadm -X output, by tag (bitmap_cases.mjs: B0 = member 0 before assembly…).
    const xb = /^@@XB(\w+) ?(.*)$/.exec(line);
    if (xb && cur) {
      ((cur.xb ??= {})[xb[1]] ??= []).push(xb[2]);
      continue;
    }
    const ex = /^@@EX(\d+) ?(.*)$/.exec(line);
    if (ex && cur) {
      ((cur.examineBy ??= {})[ex[1]] ??= []).push(ex[2]);
      continue;
    }
    const m = /^@@(\w+) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, tag, rest] = m;
    if (tag === 'CASE') {
      cur = { log: [], detail: [], examine: [], md: { devs: [] } };
      byCase.set(rest.trim(), cur);
      continue;
    }
    if (!cur) continue;
    switch (tag) {
      case 'ASSEMBLED': cur.assembled = true; break;
      case 'ATSTART': cur.atStart = rest.trim(); break;
      case 'SHA1': cur.sha1 = rest.trim(); break;
      case 'SHA2': cur.sha2 = rest.trim(); break;
      case 'SHA1R': cur.sha1r = rest.trim(); break;
      case 'SHA2R': cur.sha2r = rest.trim(); break;
      case 'ARRAYSIZE': cur.arraySize = rest.trim(); break;
      case 'ACK': (cur.acks ??= []).push(rest.trim()); break;
      case 'KV': (cur.kv ??= {})[rest.split(' ')[0]] = rest.split(' ')[1]; break;
      case 'CHECK': {
        const k = /last=(\S*) mismatch_cnt=(\S*)/.exec(rest);
        cur.check = { last: k?.[1], mismatch: k?.[2] };
        break;
      }
      case 'MD':
        if (rest.startsWith('dev-')) cur.md.devs.push(Object.fromEntries(rest.split(' ').slice(1).map((kv) => kv.split('='))));
        else cur.md[rest.slice(0, rest.indexOf('='))] = rest.slice(rest.indexOf('=') + 1);
        break;
      case 'DETAIL': cur.detail.push(rest); break;
      case 'EXAMINE': cur.examine.push(rest); break;
      case 'LOG': cur.log.push(rest); break;
      case 'T': (cur.times ??= []).push(rest.trim()); break;
      case 'ENDCASE': cur.ended = true; cur = null; break;
    }
  }
  return byCase;
}

/** Prepares, boots and verifies batches of cases, one VM at a time; the next batch is prepared while a VM runs. */
async function runBatches(jobs, label) {
  const batches = [];
  let cur = [];
  let disks = 0;
  for (const j of jobs) {
    // A case that resets the VM (crashesVm) gets a VM of its own.
    if (cur.length && (disks + j.ndisks > MAX_DISKS_PER_VM || j.c.crashesVm || cur[0].c.crashesVm)) {
      batches.push(cur);
      cur = [];
      disks = 0;
    }
    cur.push(j);
    disks += j.ndisks;
  }
  if (cur.length) batches.push(cur);
  let prevPrep = Promise.resolve();
  let prevVm = Promise.resolve();
  const done = [];
  for (const [bi, batch] of batches.entries()) {
    // A batch is prepared once the one before it is prepared and the VM before that has finished (one batch ahead).
    const vmBefore = prevVm;
    const prep = Promise.all([prevPrep, bi > 0 ? done[bi - 1]?.vmStarted : null]).then(() =>
      Promise.all(batch.map(async (j) => {
        try {
          j.ready = await j.prepare();
        } catch (err) {
          j.failed = err;
        }
      })),
    );
    prevPrep = prep;
    let started;
    const vmStarted = new Promise((r) => (started = r));
    const vm = Promise.all([prep, vmBefore]).then(async () => {
      const live = batch.filter((j) => !j.failed);
      const allDisks = live.flatMap((j) => j.disks);
      const t0 = Date.now();
      started();
      const parsed = new Map();
      let todo = live;
      // A VM that dies part way is booted again for the cases it did not start (once).
      for (let attempt = 0; attempt < 2 && todo.length; attempt++) {
        const disks = [];
        const scripts = [];
        todo.forEach((j, i) => {
          scripts.push(j.script(j.ready, disks.length, `md${i}`));
          disks.push(...j.disks);
        });
        const vm = await runVm({ disks, job: scripts.join('\n'), timeoutMs: 40 * 60_000 }).catch((err) => ({ text: '', complete: false, tail: err.message }));
        const got = parse(vm.text);
        for (const [id, out] of got) {
          if (!out.ended) out.log.push(`VM stopped during this case (qemu exit ${vm.code}); console tail:`, ...(vm.tail ?? '').split('\n'));
          parsed.set(id, out);
        }
        // A case that resets the VM on purpose (crashesVm) ends it early; that is no failure to report.
        if (!vm.complete && !todo.every((j) => j.c.crashesVm)) process.stderr.write(`[md-verify] ${label}: batch ${bi + 1}: VM stopped early (qemu exit ${vm.code}); tail:\n${(vm.tail ?? '').slice(-1500)}\n`);
        todo = todo.filter((j) => !got.has(j.id));
      }
      process.stderr.write(`[md-verify] ${label}: batch ${bi + 1}/${batches.length}: ${live.length} arrays, ${allDisks.length} disks, VM ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      return parsed;
    });
    prevVm = vm.catch(() => undefined);
    const verified = vm.then(async (parsed) => {
      for (const j of batch) {
        if (j.failed) {
          results.push({ id: j.id, dir: j.c.dir, ok: false, error: j.failed.message });
          continue;
        }
        const out = parsed.get(j.id) ?? { log: ['no output from the VM'], detail: [], examine: [], md: { devs: [] } };
        try {
          await j.verify(j.ready, out);
        } catch (err) {
          results.push({ id: j.id, dir: j.c.dir, ok: false, error: err.message, log: out.log });
        }
      }
    });
    done.push({ vmStarted, verified });
  }
  await Promise.all(done.map((d) => d.verified));
}

const round2 = [];

async function main() {
  const t0 = Date.now();
  const all = cases();
  if (args.includes('--list')) {
    for (const c of all) process.stdout.write(`${c.id}\n`);
    return;
  }
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  snapshot();
  process.stderr.write(`[md-verify] ${all.length} cases\n`);
  const pplCtx = { paths, asx, sparse, sha, record, mkdir: async (d) => mkdirSync(d, { recursive: true }), distDir: () => join(dirname(ASX), '..', 'dist') };
  // Bitmap cases also compare mdadm's text with asynctx's, capture fixtures, and send a job to round 2.
  const bmCtx = { ...pplCtx, fields, examineDiffs, capture: CAPTURE, again: (job) => round2.push({ job }) };
  const jobs = all.map((c) => {
    const p = paths(c);
    if (c.dir.startsWith('ppl')) return pplJob(c, pplCtx);
    if (c.dir.startsWith('bm')) return bitmapJob(c, bmCtx);
    if (c.dir.startsWith('bb')) return badblockJob(c, bmCtx);
    return c.dir === 'fwd'
      ? { c, id: c.id, ndisks: vmDisks(c).length, disks: vmDisks(c), prepare: () => forwardPrepare(c), script: (prep, base, md) => forwardJob(c, base, prep, md), verify: (prep, out) => forwardVerify(c, prep, out) }
      : { c, id: c.id, ndisks: vmDisks(c).length, disks: vmDisks(c), prepare: () => reversePrepare(c), script: (prep, base, md) => reverseJob(c, base, prep, md), verify: (prep, out) => reverseVerify(c, prep, out) };
  });
  await runBatches(jobs, 'round 1');
  // Round 2: md-made arrays that asynctx rebuilt (degraded ones) or wrote to (the others), back to md.
  const jobs2 = round2.map(({ c, prep, id2, variant2, job }) => {
    if (job) return job;
    const id = id2 ?? c.id.replace(/^rev-([A-Za-z0-9]+)-/, (_, v) => `rev2-${v}-${v === 'missing' ? 'rebuilt' : 'written'}-`);
    const c2 = { ...c, dir: 'rev2', id, variant: variant2 ?? c.variant };
    const p = paths(c);
    return {
      c: c2,
      id,
      ndisks: vmDisks({ ...c2, id: c.id }).length,
      disks: vmDisks({ ...c2, id: c.id }),
      prepare: async () => ({ ...prep, det: await asx(['detail', ...p.members], { json: true }), sb0: (await asx(['examine', p.members[0]], { json: true }))[0] }),
      script: (prep2, base, md) => forwardJob(c2, base, prep2, md),
      verify: async (prep2, out) => {
        const before = results.length;
        // forwardVerify finds the payloads in the reverse case's folder.
        await forwardVerify({ ...c2, id: c.id }, prep2, out);
        results[before].id = id;
      },
    };
  });
  if (jobs2.length) await runBatches(jobs2, 'round 2');
  report((Date.now() - t0) / 1000);
}

function report(seconds) {
  const file = join(CACHE, 'results.json');
  writeFileSync(file, JSON.stringify(results, null, 2));
  const list = (x) => (x === undefined ? '-' : x.length ? x.join('; ') : 'same');
  const cols = (r) => {
    if (r.dir?.startsWith('ppl') || r.dir?.startsWith('bm') || r.dir?.startsWith('bb')) return r.summary;
    if (r.dir === 'fwd' || r.dir === 'rev2') {
      const extra = r.asxMismatchBefore !== undefined ? ` (asynctx counted ${r.asxMismatchBefore})` : r.interrupted !== undefined ? ` [rebuild ${r.interrupted ? `interrupted at ${r.recoveryOffset}` : 'finished before the interrupt'}]` : '';
      return `assemble=${r.assemble ? 'ok' : 'FAIL'} start=[${r.atStart ?? '-'}] mismatch_cnt=${r.mismatch ?? '-'}${extra} bytes=${r.bytes1 && r.bytes2 ? 'match' : 'DIFF'}` +
        `${r.bytesAfterRecovery === undefined ? '' : ` afterRecovery=${r.bytesAfterRecovery ? 'match' : 'DIFF'}`} state=${r.mdState ?? '-'}` +
        ` size/offset=${r.mdSizeOk && r.mdOffsetOk && r.mdComponentOk ? 'ok' : 'DIFF'} asxCheck=${r.asxCheckAfterMd ?? '-'} asxRead=${r.asxReadAfterMd ?? '-'} examine=${list(r.examineDiffs)}`;
    }
    const data = r.variant === 'sbonly' ? 'superblock only' : `md_mismatch=${r.mismatch ?? '-'} asxMismatch=${r.asxMismatch ?? r.asxMismatchAfterRebuild ?? '-'} bytes=${r.asxBytes1 && r.asxBytes2 ? 'match' : 'DIFF'}`;
    return `md=${r.assemble ? 'ok' : 'FAIL'} asx=${r.asxAssemble ?? '-'} ${data} size/offset=${r.asxSizeOk && r.asxOffsetOk && r.asxComponentOk ? 'ok' : 'DIFF'}` +
      ` sb=${list(r.sbDiffs)} examine=${list(r.examineDiffs)} detail=${list(r.detailDiffs)}`;
  };
  let bad = 0;
  for (const r of results) {
    if (!r.ok) bad++;
    process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${r.id.padEnd(58)} ${r.error ? `error: ${r.error}` : cols(r)}\n`);
  }
  process.stdout.write(`\n${results.length - bad}/${results.length} passed in ${seconds.toFixed(0)} s; details in ${file}\n`);
  if (!args.includes('--keep')) rmSync(WORK, { recursive: true, force: true });
  process.exitCode = bad ? 1 : 0;
}

await main();
