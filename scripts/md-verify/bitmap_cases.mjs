// md-verify write-intent bitmap cases: arrays with an internal bitmap made by one
// tool, written by the other, and md's view of the bitmap (`mdadm -X`) against
// asynctx's (`raid examine --bitmap`).
//
//   bm-rev-*: mdadm creates the array with --bitmap=internal at a given
//     --bitmap-chunk (or, on members over 100 GiB, with no bitmap option: mdadm
//     4.2 adds one itself), md writes payload 1 and stops. asynctx's examine
//     --bitmap must print what mdadm -X printed for every member; asynctx writes
//     payload 2 and stops cleanly (no dirty bit). Round 2: md assembles it with no
//     resync, reads both payloads, check finds 0, and mdadm -X shows 0 dirty bits.
//   bm-fwd-*: asynctx creates with --bitmap internal (a --bitmap-chunk, its
//     default, metadata 1.1, and the default over 100 GiB), writes both payloads;
//     md's -X of every member must equal asynctx's examine --bitmap, md assembles
//     with no resync, reads the payloads, check 0, no dirty bit after its stop,
//     and asynctx reads md's bitmap back as mdadm -X printed it.
// The crash and re-add cases are in bitmap_crash.mjs.
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fill } from './ppl_plan.mjs';
import { crashCases, crashJob } from './bitmap_crash.mjs';
import { readAt } from './read_at.mjs';

const M = 1024 * 1024;
const G = 1024 * M;

export function bitmapCases() {
  const made = [
    { dir: 'bmrev', level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 64 * M, bchunk: '64K' },
    { dir: 'bmrev', level: 6, layout: 'left-symmetric', chunk: 128, n: 5, size: 64 * M, bchunk: '1M' },
    { dir: 'bmrev', level: 5, layout: 'right-asymmetric', chunk: 512, n: 4, size: 64 * M, bchunk: '4M' },
    { dir: 'bmrev', level: 6, layout: 'left-symmetric', chunk: 64, n: 4, size: 101 * G, big: true },
    { dir: 'bmfwd', level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 64 * M, bchunk: '64K' },
    { dir: 'bmfwd', level: 6, layout: 'right-symmetric', chunk: 128, n: 6, size: 33 * M },
    { dir: 'bmfwd', level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 64 * M, bchunk: '1M', meta: '1.1' },
    { dir: 'bmfwd', level: 5, layout: 'left-symmetric', chunk: 512, n: 3, size: 101 * G, big: true },
    // Metadata 1.0: the bitmap before the superblock at the end (a negative bitmap_offset).
    { dir: 'bmfwd', level: 6, layout: 'left-symmetric', chunk: 64, n: 5, size: 64 * M, bchunk: '512K', meta: '1.0' },
    { dir: 'bmfwd', level: 5, layout: 'left-symmetric', chunk: 512, n: 3, size: 101 * G, big: true, meta: '1.0' },
    { dir: 'bmrev', level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 64 * M, bchunk: '512K', meta: '1.0' },
  ].map((c) => ({ ...c, id: `${c.dir === 'bmrev' ? 'bm-rev' : 'bm-fwd'}${c.meta ? `-meta${c.meta.replace('.', '')}` : ''}-r${c.level}-${c.layout}-${c.chunk}k-${c.n}x${c.big ? `${c.size / G}G` : `${c.size / M}M`}-${c.bchunk ? `bc${c.bchunk}` : c.big ? 'auto' : 'default'}` }));
  return [...made, ...crashCases()];
}

/** Payload 1 at 0 (md or asynctx, whoever created), payload 2 by the other tool, unaligned, 1 MiB past it. */
export function payloads(c) {
  const p1 = 3 * M + 64 * 1024 * c.n;
  return { p1, o2: p1 + M + 3 * 512, p2: 300 * 1024 + 3 * 512 };
}

/** mdadm -X text of one member as fields; "Filename" names the device, so it is left out. */
export function xfields(ctx, lines) {
  const f = ctx.fields(lines ?? []);
  f.delete('Filename');
  return f;
}

/** Bits and dirty bits from mdadm -X (or asynctx examine --bitmap) text; null when there is no such line. */
export function xdirty(lines) {
  const m = /(\d+) bits \(chunks\), (\d+) dirty/.exec((lines ?? []).join('\n'));
  return m ? { bits: Number(m[1]), dirty: Number(m[2]) } : null;
}

/** Differences between mdadm -X and asynctx's examine --bitmap of the same member. */
export function xdiffs(ctx, mdLines, asxText) {
  const a = xfields(ctx, mdLines);
  const b = xfields(ctx, asxText.split('\n'));
  if (a.size === 0) return ['mdadm -X printed nothing'];
  const out = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) if (a.get(k) !== b.get(k)) out.push(`${k}: md "${a.get(k) ?? ''}" asynctx "${b.get(k) ?? ''}"`);
  return out;
}

/** Shell: mdadm -X of a device, each line tagged @@XB<tag>. */
export const xb = (tag, dev) => `mdadm -X ${dev} 2>&1 | sed 's/^/@@XB${tag} /'`;

/** mdcheck arguments: whole arrays, or for members of 100 GiB the first 96 MiB of member sectors and the last MiB. */
export function checkArgs(c, md) {
  return c.big ? ` 0 ${96 * 2048} $(( $(cat /sys/block/${md}/md/component_size) * 2 - 2048 )) max` : '';
}

/** asynctx's examine --bitmap text per member, and the differences from md's -X lines tagged `${tag}${i}`. */
async function compareX(ctx, c, out, tag) {
  const p = ctx.paths(c);
  const diffs = [];
  for (let i = 0; i < c.n; i++) {
    const t = await ctx.asx(['examine', '--bitmap', p.members[i]], { allowFail: true });
    for (const d of t.error ? [t.error] : xdiffs(ctx, out.xb?.[`${tag}${i}`], t)) diffs.push(`member ${i}: ${d}`);
  }
  return diffs;
}

const allClean = (out, tag, n) => Array.from({ length: n }, (_, i) => xdirty(out.xb?.[`${tag}${i}`])).every((d) => d && d.bits > 0 && d.dirty === 0);

/** The first `len` bytes of a file. */
export function readHead(path, len) {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(len);
  readSync(fd, b, 0, len, 0);
  closeSync(fd);
  return b;
}

/**
 * Fixture (test/fixtures/md-bitmap): each member's first MiB as md left it —
 * the 1.2/1.1 superblock, the bitmap and the bad-block log; data starts at 1 MiB
 * or later — gzipped, with what mdadm -X, --examine and --detail printed.
 */
const TAIL = 64 * 1024;

export function captureBitmap(ctx, c, out, extra = {}) {
  if (!ctx.capture) return;
  const p = ctx.paths(c);
  mkdirSync(ctx.capture, { recursive: true });
  const fx = {
    id: c.id, level: c.level, layout: c.layout, chunkKiB: c.chunk, raidDisks: c.n, bitmapChunk: c.bchunk ?? null, meta: c.meta ?? '1.2',
    memberBytes: p.members.map(() => c.size), arrayBytes: Number(out.arraySize ?? 0),
    // 1.0 keeps its metadata at the end: the last 64 KiB (superblock, bad-block log, bitmap) instead of the data's first MiB.
    heads: c.meta === '1.0' ? [] : p.members.map((m) => gzipSync(readHead(m, M), { level: 9 }).toString('base64')),
    ...(c.meta === '1.0' ? { tails: p.members.map((m) => gzipSync(readAt(m, c.size - TAIL, TAIL), { level: 9 }).toString('base64')) } : {}),
    xbitmap: Object.fromEntries(Object.entries(out.xb ?? {}).map(([k, v]) => [k, v.join('\n')])),
    examine: out.examine.join('\n'), detail: out.detail.join('\n'), ...extra,
  };
  writeFileSync(join(ctx.capture, `${c.id}.json.gz`), gzipSync(JSON.stringify(fx), { level: 9 }));
}

// ------------------------------------------------------------ md creates (bm-rev-*)
async function revPrepare(c, ctx) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  p.members.forEach((m) => ctx.sparse(m, c.size));
  const pl = payloads(c);
  writeFileSync(p.p1, fill(pl.p1, 11));
  writeFileSync(p.p2, fill(pl.p2, 12));
  return pl;
}

function revScript(c, pl, base, md) {
  const devs = Array.from({ length: c.n }, (_, i) => `$(dev ${base + i})`);
  const bm = c.big ? '' : `--bitmap=internal --bitmap-chunk=${c.bchunk}`;
  const L = [`echo "@@CASE ${c.id}"; tick start`];
  L.push(`mdadm --create /dev/${md} --run --metadata=${c.meta ?? '1.2'} --name=${c.id.slice(0, 20)} --level=${c.level} --layout=${c.layout} --chunk=${c.chunk} --raid-devices=${c.n} --assume-clean ${bm} ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  L.push(`echo "@@ARRAYSIZE $(($(cat /sys/block/${md}/size) * 512))"; echo "@@KV policy $(cat /sys/block/${md}/md/consistency_policy)"`);
  L.push(`dd if=$(dev ${base + c.n}) of=/dev/${md} bs=512 count=${pl.p1 / 512} conv=fsync 2>/dev/null`);
  L.push(`echo "@@SHA1 $(devsha /dev/${md} 0 ${pl.p1})"`);
  L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'`);
  L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`mdadm --examine ${devs[0]} | sed 's/^/@@EXAMINE /'`);
  devs.forEach((d, i) => L.push(xb(`S${i}`, d)));
  L.push('fi', `tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

async function revVerify(c, pl, out, ctx) {
  const p = ctx.paths(c);
  const row = { assemble: !!out.assembled, policy: out.kv?.policy, times: out.times, log: out.log };
  row.mdBytes = out.sha1 === ctx.sha(readFileSync(p.p1));
  row.mdStopClean = allClean(out, 'S', c.n);
  row.xDiffs = row.assemble ? await compareX(ctx, c, out, 'S') : ['not created'];
  row.examineDiffs = row.assemble ? ctx.examineDiffs(out.examine, await ctx.asx(['examine', p.members[0]])) : [];
  if (row.assemble) captureBitmap(ctx, c, out, { headsTag: 'S' });
  let w = { error: 'not created' };
  if (row.assemble) w = await ctx.asx(['write', '--input', p.p2, '--offset', String(pl.o2), ...p.members], { allowFail: true });
  row.asxWrite = w.error ?? true;
  const after = row.asxWrite === true ? await Promise.all(p.members.map((m) => ctx.asx(['examine', '--bitmap', m], { json: true }))) : [];
  row.asxStopDirty = after.map((x) => x[0]?.dirty);
  row.first = row.policy === 'bitmap' && row.mdBytes && row.mdStopClean && row.xDiffs.length === 0 && row.examineDiffs.length === 0 && row.asxWrite === true && row.asxStopDirty.every((d) => d === 0);
  if (!row.first) return ctx.record(c, { ...row, ok: false, summary: revSummary(row) });
  ctx.again(roundTwo(c, pl, ctx, row));
}

function revSummary(row, out2) {
  return `md create: policy=${row.policy ?? '-'} bytes=${row.mdBytes ? 'match' : 'DIFF'} -X after stop ${row.mdStopClean ? '0 dirty' : 'DIRTY'} asx examine --bitmap=${row.xDiffs?.length ? row.xDiffs.join('; ') : 'same'} examine=${row.examineDiffs?.length ? row.examineDiffs.join('; ') : 'same'}` +
    ` asx write=${row.asxWrite} dirty after asx stop=${(row.asxStopDirty ?? []).join('/')}${out2 ? ` | md again: ${out2}` : ''}`;
}

/** Round 2 of bm-rev: md assembles what asynctx wrote. */
function roundTwo(c, pl, ctx, row) {
  const p = ctx.paths(c);
  const c2 = { ...c, dir: 'bmrev2', id: c.id.replace(/^bm-rev-/, 'bm-rev2-') };
  return {
    c: c2, id: c2.id, ndisks: c.n, disks: p.members,
    prepare: async () => pl,
    script: (_, base, md) => mdAssembleScript(c2, base, md, pl, { shaAt: [[0, pl.p1], [pl.o2, pl.p2]] }),
    verify: async (_, out) => {
      const v = mdAssembleVerdict(c, out, ctx, [ctx.sha(readFileSync(p.p1)), ctx.sha(readFileSync(p.p2))]);
      ctx.record(c2, { ...row, ...v, ok: v.ok, summary: revSummary(row, v.summary) });
    },
  };
}

// ------------------------------------------------------------ shared: md assembles a bitmap array
/** md assembles the members (-X before: B<i>, after the stop: A<i>), reads the `shaAt` ranges, checks, stops. */
export function mdAssembleScript(c, base, md, pl, { shaAt }) {
  const devs = Array.from({ length: c.n }, (_, i) => `$(dev ${base + i})`);
  const L = [`echo "@@CASE ${c.id}"; tick start`];
  devs.forEach((d, i) => L.push(xb(`B${i}`, d)));
  L.push(`mdadm --assemble /dev/${md} --run ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  L.push(`echo "@@ATSTART $(cat /sys/block/${md}/md/array_state) $(cat /sys/block/${md}/md/sync_action) degraded=$(cat /sys/block/${md}/md/degraded)"`);
  L.push(`mdwait ${md}; echo "@@ARRAYSIZE $(($(cat /sys/block/${md}/size) * 512))"`);
  shaAt.forEach(([at, len], i) => L.push(`echo "@@KV sha${i} $(devsha /dev/${md} ${at} ${len})"`));
  L.push(`tick check; mdcheck ${md}${checkArgs(c, md)}; tick checked`);
  L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'`);
  L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`mdadm --examine ${devs[0]} | sed 's/^/@@EXAMINE /'`);
  devs.forEach((d, i) => L.push(xb(`A${i}`, d)));
  L.push('fi', `tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

/** What mdAssembleScript's output must show: no resync at start, the bytes, check 0, bitmap policy, no dirty bit before or after. */
export function mdAssembleVerdict(c, out, ctx, shas) {
  const detail = ctx.fields(out.detail);
  const v = {
    assemble2: !!out.assembled, atStart: out.atStart, mismatch: out.check?.mismatch,
    bytes: shas.every((h, i) => out.kv?.[`sha${i}`] === h),
    cleanBefore: allClean(out, 'B', c.n), cleanAfter: allClean(out, 'A', c.n),
    intent: detail.get('Intent Bitmap'), policy2: detail.get('Consistency Policy'), mdState: detail.get('State'),
    raw2: { log: out.log, times: out.times, xb: out.xb },
  };
  v.ok = v.assemble2 && !/resync|recover/.test(v.atStart ?? '') && v.bytes && v.mismatch === '0' && v.cleanBefore && v.cleanAfter && v.intent === 'Internal' && v.policy2 === 'bitmap' && v.mdState === 'clean';
  v.summary = `assemble=${v.assemble2 ? 'ok' : 'FAIL'} start=[${v.atStart ?? '-'}] bytes=${v.bytes ? 'match' : 'DIFF'} mismatch_cnt=${v.mismatch ?? '-'} -X before ${v.cleanBefore ? '0 dirty' : 'DIRTY'} after stop ${v.cleanAfter ? '0 dirty' : 'DIRTY'} detail: ${v.intent ?? '-'}/${v.policy2 ?? '-'}/${v.mdState ?? '-'}`;
  return v;
}

// ------------------------------------------------------------ asynctx creates (bm-fwd-*)
async function fwdPrepare(c, ctx) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  const argv = ['create', '--level', String(c.level), '--layout', c.layout, '--chunk', `${c.chunk}K`, '--member-size', String(c.size), '--name', c.id.slice(0, 20)];
  // Over 100 GiB asynctx adds the bitmap itself, as mdadm 4.2 does (and a resync of 400 GiB is no test here).
  if (c.big) argv.push('--assume-clean');
  else argv.push('--bitmap', 'internal', ...(c.bchunk ? ['--bitmap-chunk', c.bchunk] : []));
  if (c.meta) argv.push('--metadata', c.meta);
  await ctx.asx([...argv, ...p.members]);
  const pl = payloads(c);
  writeFileSync(p.p1, fill(pl.p1, 21));
  writeFileSync(p.p2, fill(pl.p2, 22));
  await ctx.asx(['write', '--input', p.p1, ...p.members]);
  await ctx.asx(['write', '--input', p.p2, '--offset', String(pl.o2), ...p.members]);
  const texts = await Promise.all(p.members.map((m) => ctx.asx(['examine', '--bitmap', m])));
  const chk = c.big ? null : await ctx.asx(['check', ...p.members], { json: true });
  return { ...pl, texts, asxCheck: chk?.mismatches };
}

async function fwdVerify(c, prep, out, ctx) {
  const p = ctx.paths(c);
  const v = mdAssembleVerdict(c, out, ctx, [ctx.sha(readFileSync(p.p1)), ctx.sha(readFileSync(p.p2))]);
  // md's -X of asynctx's bitmap before assembly, and asynctx's reading of md's after the stop.
  const before = [];
  prep.texts.forEach((t, i) => before.push(...xdiffs(ctx, out.xb?.[`B${i}`], t).map((d) => `member ${i}: ${d}`)));
  const after = out.assembled ? await compareX(ctx, c, out, 'A') : ['not assembled'];
  const chk = !out.assembled || c.big ? null : await ctx.asx(['check', ...p.members], { json: true, allowFail: true });
  if (out.assembled) captureBitmap(ctx, c, out, { headsTag: 'A' });
  const ok = v.ok && before.length === 0 && after.length === 0 && (c.big || (prep.asxCheck === 0 && chk?.mismatches === 0));
  ctx.record(c, {
    ...v, ok, xDiffsBefore: before, xDiffsAfter: after, asxCheck: prep.asxCheck, asxCheckAfterMd: chk?.mismatches ?? chk?.error,
    summary: `asx check=${prep.asxCheck ?? 'n/a (100 GiB)'} md -X vs asx examine --bitmap: before ${before.length ? before.join('; ') : 'same'}, after md ${after.length ? after.join('; ') : 'same'} | ${v.summary} asxCheck after md=${chk?.mismatches ?? chk?.error ?? 'n/a'}`,
  });
}

/** A job of matrix.mjs's runBatches for a bitmap case. */
export function bitmapJob(c, ctx) {
  const p = ctx.paths(c);
  if (c.dir === 'bmrev') {
    const disks = [...p.members, p.p1];
    return { c, id: c.id, ndisks: disks.length, disks, prepare: () => revPrepare(c, ctx), script: (pl, base, md) => revScript(c, pl, base, md), verify: (pl, out) => revVerify(c, pl, out, ctx) };
  }
  if (c.dir === 'bmfwd') {
    return { c, id: c.id, ndisks: c.n, disks: p.members, prepare: () => fwdPrepare(c, ctx), script: (pl, base, md) => mdAssembleScript(c, base, md, pl, { shaAt: [[0, pl.p1], [pl.o2, pl.p2]] }), verify: (prep, out) => fwdVerify(c, prep, out, ctx) };
  }
  return crashJob(c, ctx);
}
