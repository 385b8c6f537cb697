// md-verify bad-block cases: md's per-member bad-block log against asynctx's, both ways.
//
//   bb-rev-*: mdadm creates a RAID-5 or RAID-6 on 3 MiB members and md writes the payload
//     (one label per sector). Bad blocks are injected through md's sysfs, `echo "SECTOR LEN" >
//     /sys/block/mdX/md/dev-*/bad_blocks` (md.rst: acknowledged bad blocks; absolute member
//     sectors, md adds no data offset there), ascending and each at most 512 sectors (md 6.1's
//     badblocks_set splits a longer range out of order); a 4 KiB rewrite away from them marks
//     the array active, so md writes each log with the superblocks, and md stops. The listed
//     sectors are then overwritten on the raw members with a pattern, and md assembles
//     read-only (no rewrite-and-clear) and reads the whole array: equal to the payload, so
//     md served them from parity. `mdadm --examine-badblocks` of every member is captured; on
//     the host asynctx's `examine --badblocks` must list the same ranges, and asynctx's read
//     of the whole array must equal the payload too.
//   bb-fwd-* (round 2): asynctx writes a second payload over some of those ranges (and part of
//     one), which it clears as md does after a good write; md must list asynctx's log as
//     asynctx does, read the whole array read-only, then read-write: check 0, bytes again;
//     back on the host asynctx checks and reads it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readAt } from './read_at.mjs';

const M = 1024 * 1024;
/** The data offset mdadm 4.2 gives members this small (1 MiB), in sectors. */
const DATA_OFFSET = 2048;

/**
 * Bad ranges as [member, sector from the data offset, sectors]: on RAID-5 never two members in
 * one 4 KiB row (md's stripe unit), on RAID-6 two members overlapping in rows 208-215, one
 * range md merges ([3000,8] and [3008,8]), two it keeps as a 512-sector entry and the rest
 * ([3100,400] and [3500,300]: 3100/512, 3612/188), one not 4 KiB aligned, one across the end of
 * the forward write (member sector 2048).
 */
const SHAPES = [
  { level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 3 * M, bad: [[0, 100, 8], [0, 1000, 3], [0, 2000, 100], [0, 3000, 8], [0, 3008, 8], [0, 3100, 400], [0, 3500, 300], [2, 2500, 16]] },
  { level: 6, layout: 'left-symmetric', chunk: 64, n: 5, size: 3 * M, bad: [[1, 200, 16], [1, 3000, 100], [3, 208, 16], [3, 3900, 8], [4, 2000, 100], [4, 2600, 300], [4, 2900, 300]] },
];

export function badblockCases() {
  return SHAPES.map((s) => ({ ...s, dir: 'bbrev', id: `bb-rev-r${s.level}-${s.layout}-${s.chunk}k-${s.n}x${s.size / M}M` }));
}

/** `len` bytes of 512-byte sectors, each an ASCII label naming `tag` and the sector, then zeros (test/raid/md_badblocks_real.test.ts has the same). */
export function labels(len, tag) {
  const out = Buffer.alloc(len);
  for (let s = 0; s * 512 < len; s++) out.write(`asynctx-bb ${tag} sector=${s}\n`, s * 512, 'latin1');
  return out;
}

/** The array bytes md gives these members: data disks × (member − data offset). */
const arrayBytes = (c) => (c.n - (c.level === 6 ? 2 : 1)) * (c.size - DATA_OFFSET * 512);

/** The forward write: byte-unaligned, from inside the first range on member 0 to 7 sectors into row 16. */
function forwardWrite(c) {
  const o2 = 100 * 512 + 37;
  return { o2, p2: 3 * M + 7 * 512 - o2 };
}

/** Each member's range list in mdadm's words ("sector for n sectors"), after a header without the device name. */
export function bbLines(text) {
  const lines = (Array.isArray(text) ? text : text.split('\n')).map((l) => l.trim()).filter(Boolean);
  return lines.map((l, i) => (i === 0 ? l.replace(/ (on|in) \S+$/, ' $1 DEV') : l.replace(/\s+/g, ' ')));
}

const pattern = (i) => `yes BAD-SECTOR-ON-MEMBER-${i} | head -c`;
const sysfs = (md, dev) => `/sys/block/${md}/md/dev-$(basename ${dev})`;

async function revPrepare(c, ctx) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  p.members.forEach((m) => ctx.sparse(m, c.size));
  writeFileSync(p.p1, labels(arrayBytes(c), 'md'));
  return { bytes: arrayBytes(c) };
}

function revScript(c, prep, base, md) {
  const devs = Array.from({ length: c.n }, (_, i) => `$(dev ${base + i})`);
  const L = [`echo "@@CASE ${c.id}"; tick start`];
  L.push(`mdadm --create /dev/${md} --run --metadata=1.2 --level=${c.level} --layout=${c.layout} --chunk=${c.chunk} --raid-devices=${c.n} --assume-clean ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  L.push(`S=$(($(cat /sys/block/${md}/size) * 512)); echo "@@ARRAYSIZE $S"`);
  L.push(`dd if=$(dev ${base + c.n}) of=/dev/${md} bs=64k count=$((S / 65536)) conv=notrunc,fsync 2>/dev/null`);
  L.push(`echo "@@KV sha0 $(devsha /dev/${md} 0 ${prep.bytes})"`);
  devs.forEach((d, i) => L.push(`OFF${i}=$(cat ${sysfs(md, d)}/offset); echo "@@KV offset${i} $OFF${i}"`));
  for (const [i, at, len] of c.bad) L.push(`echo "$((OFF${i} + ${at})) ${len}" > ${sysfs(md, devs[i])}/bad_blocks || echo "@@LOG inject ${i} ${at} ${len} refused"`);
  devs.forEach((d, i) => L.push(`cat ${sysfs(md, d)}/bad_blocks | sed 's/^/@@XBS${i} /'; cat ${sysfs(md, d)}/unacknowledged_bad_blocks | sed 's/^/@@XBU${i} /'`));
  // The array's first 4 KiB (row 0, no bad range there) rewritten as it is: md goes active and writes the superblocks and logs.
  L.push(`dd if=/dev/${md} of=/dev/${md} bs=4k count=1 conv=notrunc,fsync 2>/dev/null; mdidle ${md}`);
  L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  for (const [i, at, len] of c.bad) L.push(`${pattern(i)} ${len * 512} | dd of=${devs[i]} bs=512 seek=$((OFF${i} + ${at})) conv=notrunc 2>/dev/null`);
  L.push('sync');
  L.push(`mdadm --assemble --readonly /dev/${md} ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`echo "@@KV rostate $(cat /sys/block/${md}/md/array_state)"; echo "@@KV sha1 $(devsha /dev/${md} 0 ${prep.bytes})"`);
  L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  devs.forEach((d, i) => L.push(`mdadm --examine-badblocks ${d} 2>&1 | sed 's/^/@@XBB${i} /'`));
  L.push(`mdadm --examine ${devs[0]} | sed 's/^/@@EXAMINE /'`);
  L.push('fi', `tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

/** asynctx's `examine --badblocks` of every member against md's text under tag `tag`: [asynctx's lines, differences]. */
async function compareLists(c, ctx, out, tag) {
  const p = ctx.paths(c);
  const texts = [];
  const diffs = [];
  for (const [i, m] of p.members.entries()) {
    const t = await ctx.asx(['examine', '--badblocks', m], { allowFail: true });
    const mine = t.error ? [t.error] : bbLines(t);
    const theirs = bbLines(out.xb?.[`${tag}${i}`] ?? []);
    texts.push(mine);
    if (mine.join('|') !== theirs.join('|')) diffs.push(`member ${i}: md [${theirs.join('; ')}] asynctx [${mine.join('; ')}]`);
  }
  return { texts, diffs };
}

/** Sectors [sector, sector+length) of md's listing (entries only) as absolute member sectors. */
const entries = (lines) => lines.slice(1).map((l) => l.split(' ').map(Number)).map(([s, , n]) => ({ sector: s, length: n }));
const covered = (list, sector, length) => {
  for (let s = sector; s < sector + length; s++) if (!list.some((b) => b.sector <= s && s < b.sector + b.length)) return false;
  return true;
};

async function revVerify(c, prep, out, ctx) {
  const p = ctx.paths(c);
  const kv = out.kv ?? {};
  const want = ctx.sha(readFileSync(p.p1));
  const row = { assemble: !!out.assembled, arrayBytes: Number(out.arraySize), log: out.log, raw: { xb: out.xb, kv, examine: out.examine } };
  row.sizeOk = row.arrayBytes === prep.bytes;
  row.mdBytes = kv.sha0 === want;
  row.mdReadOnly = kv.rostate === 'readonly';
  row.mdBytesFromParity = kv.sha1 === want;
  const off = (i) => Number(kv[`offset${i}`]);
  // md listed every injected sector, and the raw members hold the pattern there.
  const md = p.members.map((_, i) => bbLines(out.xb?.[`B${i}`] ?? []));
  row.injected = c.bad.every(([i, at, len]) => covered(entries(md[i]), off(i) + at, len));
  row.corrupted = c.bad.every(([i, at, len]) => readAt(p.members[i], (off(i) + at) * 512, len * 512).toString('latin1').startsWith(`BAD-SECTOR-ON-MEMBER-${i}`));
  const cmp = await compareLists(c, ctx, out, 'B');
  row.listDiffs = cmp.diffs;
  const rd = join(p.dir, 'read.bin');
  const r = await ctx.asx(['read', '--output', rd, ...p.members], { allowFail: true });
  row.asxBytes = r.error ?? ctx.sha(readFileSync(rd)) === want;
  const counts = md.map((l) => l.length - 1);
  const first = row.assemble && row.sizeOk && row.mdBytes && row.mdReadOnly && row.mdBytesFromParity && row.injected && row.corrupted && row.listDiffs.length === 0 && row.asxBytes === true;
  row.summary = `md listed ${counts.join('/')} ranges (injected covered=${row.injected}) md read-only read=${row.mdBytesFromParity ? 'match' : 'DIFF'} (raw sectors overwritten=${row.corrupted}) asx examine --badblocks=${row.listDiffs.length ? row.listDiffs.join('; ') : 'same'} asx read=${row.asxBytes === true ? 'match' : row.asxBytes}`;
  if (first && ctx.capture) capture(c, ctx, p, { off: off(0), want, md: rawLists(c, out, 'B'), examine: out.examine });
  if (!first) return ctx.record(c, { ...row, ok: false });
  ctx.record(c, { ...row, ok: true });
  // asynctx writes over some of md's ranges; round 2 takes the array back to md.
  const fw = forwardWrite(c);
  const image = labels(prep.bytes, 'md');
  writeFileSync(p.p2, labels(fw.p2, 'asynctx'));
  image.set(readFileSync(p.p2), fw.o2);
  writeFileSync(join(p.dir, 'expected2.bin'), image);
  const w = await ctx.asx(['write', '--input', p.p2, '--offset', String(fw.o2), ...p.members], { allowFail: true });
  const after = await compareLists(c, ctx, out, 'B');
  ctx.again(roundTwo(c, ctx, { ...prep, ...fw, want2: ctx.sha(image), asxWrite: w.error ?? true, listBefore: md, listAfter: after.texts }));
}

/** What `mdadm --examine-badblocks` printed for each member under tag `tag`, as printed. */
const rawLists = (c, out, tag) => Array.from({ length: c.n }, (_, i) => `${(out.xb?.[`${tag}${i}`] ?? []).join('\n')}\n`);

/** Stores the members as md left them (gzip) and md's listings: test/fixtures/md-badblocks/<id>/. */
function capture(c, ctx, p, { off, want, md, examine }) {
  const dir = join(ctx.capture, c.id);
  mkdirSync(dir, { recursive: true });
  p.members.forEach((m, i) => writeFileSync(join(dir, `disk${i}.img.gz`), gzipSync(readFileSync(m), { level: 9 })));
  const meta = {
    id: c.id, level: c.level, layout: c.layout, chunkKiB: c.chunk, raidDisks: c.n, memberBytes: c.size, dataOffset: off,
    arrayBytes: arrayBytes(c), payload: { labels: 'md' }, sha256: want,
    injected: c.bad.map(([member, at, length]) => ({ member, sector: off + at, length })),
    // mdadm --examine-badblocks of each member (slot order) as printed, and mdadm --examine of member 0.
    examineBadblocks: md, examine: examine.join('\n'),
  };
  writeFileSync(join(dir, 'case.json'), JSON.stringify(meta, null, 1) + '\n');
}

/** bb-fwd: md reads asynctx's logs and bytes. */
function roundTwo(c, ctx, prep) {
  const p = ctx.paths(c);
  const c2 = { ...c, dir: 'bbfwd', id: c.id.replace(/^bb-rev-/, 'bb-fwd-') };
  const script = (_, base, md) => {
    const devs = Array.from({ length: c.n }, (_, i) => `$(dev ${base + i})`);
    const L = [`echo "@@CASE ${c2.id}"; tick start`];
    devs.forEach((d, i) => L.push(`mdadm --examine-badblocks ${d} 2>&1 | sed 's/^/@@XBF${i} /'`));
    L.push(`mdadm --assemble --readonly /dev/${md} ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
    L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
    L.push(`echo "@@ARRAYSIZE $(($(cat /sys/block/${md}/size) * 512))"; echo "@@KV sha1 $(devsha /dev/${md} 0 ${prep.bytes})"`);
    devs.forEach((d, i) => L.push(`cat ${sysfs(md, d)}/bad_blocks | sed 's/^/@@XBS${i} /'`));
    L.push(`mdadm --readwrite /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
    L.push(`tick check; mdcheck ${md}; tick checked; echo "@@KV sha2 $(devsha /dev/${md} 0 ${prep.bytes})"`);
    L.push(`mdinfo ${md}; mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'`);
    L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
    devs.forEach((d, i) => L.push(`mdadm --examine-badblocks ${d} 2>&1 | sed 's/^/@@XBA${i} /'`));
    L.push('fi', `tick end; echo "@@ENDCASE ${c2.id}"`);
    return L.join('\n');
  };
  const verify = async (_, out) => {
    const kv = out.kv ?? {};
    const mdList = p.members.map((_, i) => bbLines(out.xb?.[`F${i}`] ?? []));
    const diffs = mdList.flatMap((l, i) => (l.join('|') === prep.listAfter[i].join('|') ? [] : [`member ${i}: md [${l.join('; ')}] asynctx [${prep.listAfter[i].join('; ')}]`]));
    const before = prep.listBefore.reduce((n, l) => n + l.length - 1, 0);
    const left = prep.listAfter.reduce((n, l) => n + Math.max(0, l.length - 1), 0);
    const cleared = prep.listAfter.map((l, i) => l.length - 1 < prep.listBefore[i].length - 1 || l.join('|') !== prep.listBefore[i].join('|'));
    const chk = out.assembled ? await ctx.asx(['check', ...p.members], { json: true, allowFail: true }) : { error: 'not assembled' };
    const rd = join(p.dir, 'read2.bin');
    const r = out.assembled ? await ctx.asx(['read', '--output', rd, ...p.members], { allowFail: true }) : { error: 'not assembled' };
    const asxBytes = r.error ?? ctx.sha(readFileSync(rd)) === prep.want2;
    const mdAfter = p.members.map((_, i) => bbLines(out.xb?.[`A${i}`] ?? []).length - 1);
    const state = ctx.fields(out.detail).get('State');
    const ok = prep.asxWrite === true && !!out.assembled && diffs.length === 0 && cleared.some(Boolean) && left > 0 && kv.sha1 === prep.want2 &&
      out.check?.mismatch === '0' && kv.sha2 === prep.want2 && state === 'clean' && chk.mismatches === 0 && asxBytes === true;
    ctx.record(c2, {
      ok, asxWrite: prep.asxWrite, listDiffs: diffs, rangesBefore: before, rangesLeft: left, mismatch: out.check?.mismatch, state, asxCheck: chk.mismatches ?? chk.error, asxBytes, mdListedAfterCheck: mdAfter, log: out.log, raw: { xb: out.xb, kv },
      summary: `asx write=${prep.asxWrite} ranges ${before} -> ${left}; md --examine-badblocks of asynctx's logs=${diffs.length ? diffs.join('; ') : 'same'} md read-only read=${kv.sha1 === prep.want2 ? 'match' : 'DIFF'} mismatch_cnt=${out.check?.mismatch ?? '-'} read after check=${kv.sha2 === prep.want2 ? 'match' : 'DIFF'} state=${state ?? '-'} (md lists ${mdAfter.join('/')} after its check) asxCheck=${chk.mismatches ?? chk.error} asx read=${asxBytes === true ? 'match' : asxBytes}`,
    });
    if (ctx.capture && prep.asxWrite === true) {
      const file = join(ctx.capture, c.id, 'case.json');
      const meta = JSON.parse(readFileSync(file, 'utf8'));
      meta.forward = { offset: prep.o2, length: prep.p2, labels: 'asynctx', sha256: prep.want2, examineBadblocks: rawLists(c, out, 'F') };
      writeFileSync(file, JSON.stringify(meta, null, 1) + '\n');
    }
  };
  return { c: c2, id: c2.id, ndisks: c.n, disks: p.members, prepare: async () => prep, script, verify };
}

/** A job of matrix.mjs's runBatches for a bad-block case. */
export function badblockJob(c, ctx) {
  const p = ctx.paths(c);
  const disks = [...p.members, p.p1];
  return { c, id: c.id, ndisks: disks.length, disks, prepare: () => revPrepare(c, ctx), script: (prep, base, md) => revScript(c, prep, base, md), verify: (prep, out) => revVerify(c, prep, out, ctx) };
}
