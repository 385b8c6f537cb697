// md-verify PPL cases: the partial parity log across a crash, both ways.
//
//   ppl-fwd-kill: asynctx creates a RAID-5 with --consistency-policy ppl, fills
//     it, then a writer (ppl_writer.mjs: unaligned writes into 90 KiB slots) is
//     killed with SIGKILL mid-write, leaving the array dirty. In the VM md
//     assembles it degraded by one member (its PPL recovery runs at start) and
//     every byte outside the write in flight must read back as written — the
//     chunks the crash never touched included, rebuilt from the recovered
//     parity; then md adds the member back, and check finds 0 mismatches.
//   ppl-rev-kill: mdadm creates the PPL array in the VM, fills it, and a loop of
//     unaligned dd writes is cut by a sysrq reset of the VM. On the host asynctx
//     assembles it degraded by one member (recovering md's log), every sector
//     outside the writes that may have been in flight reads as written, and
//     after asynctx adds the member back its check finds 0 mismatches.
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killedWriter } from './killed_writer.mjs';
import { fill, slotWrite } from './ppl_plan.mjs';
import { readAt } from './read_at.mjs';

const M = 1024 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const SHAPE = { level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 16 * M };
/** Writes asynctx must have acknowledged before the kill. */
const ACKS = 25;
/** md-side writes (dd) that may still have been in flight when the VM reset. */
const MD_SLACK = 4;

export function pplCases() {
  return [
    { ...SHAPE, dir: 'pplfwd', variant: 'kill', id: 'ppl-fwd-kill-r5-left-symmetric-64k-4x16M' },
    { ...SHAPE, dir: 'pplrev', variant: 'kill', id: 'ppl-rev-kill-r5-left-symmetric-64k-4x16M', crashesVm: true },
  ];
}

/** Entries in the newest PPL header of each member, read with asynctx's own decoder. */
async function logEntries(ctx, members) {
  const ppl = await import(join(ctx.distDir(), 'src/raid/ppl.js'));
  const { readSuperblock, FileMember } = await import(join(ctx.distDir(), 'src/raid/index.js'));
  const out = [];
  for (const path of members) {
    const m = await FileMember.open(path, { readonly: true });
    try {
      const sb = await readSuperblock(m);
      const area = ppl.pplArea(sb);
      const { found } = await ppl.findNewestHeader(async (at) => readAt(path, (area.sector + at) * 512, 4096), area.size, ppl.pplSignature(sb.setUuid));
      out.push(found ? found.header.entries.length : -1);
    } finally {
      await m.close();
    }
  }
  return out;
}

async function fwdPrepare(c, ctx) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  await ctx.mkdir(p.dir);
  await ctx.asx(['create', '--level', '5', '--layout', c.layout, '--chunk', `${c.chunk}K`, '--consistency-policy', 'ppl', '--assume-clean', '--member-size', String(c.size), '--name', 'pplfwd', ...p.members]);
  const det = await ctx.asx(['detail', ...p.members], { json: true });
  const size = det.arrayBytes;
  const image = fill(size, 1);
  writeFileSync(p.p1, image);
  await ctx.asx(['write', '--input', p.p1, ...p.members]);
  const acked = await killedWriter(join(here, 'ppl_writer.mjs'), [join(ctx.distDir(), 'src/raid/index.js'), ...p.members], ACKS);
  const stripe = c.chunk * 1024 * (p.members.length - 1);
  for (let i = 0; i <= acked; i++) {
    const w = slotWrite(i, size, 1, stripe);
    image.set(fill(w.len, w.seed), w.at);
  }
  // The write in flight at the kill: its sectors may hold either version; everything else is known.
  const w = slotWrite(acked + 1, size, 1, stripe);
  const a0 = Math.floor(w.at / 512) * 512;
  const b0 = Math.ceil((w.at + w.len) / 512) * 512;
  const entries = await logEntries(ctx, p.members);
  const sb0 = (await ctx.asx(['examine', p.members[0]], { json: true }))[0];
  return { size, acked, a0, b0, shaA: ctx.sha(image.subarray(0, a0)), shaB: ctx.sha(image.subarray(b0)), entries, dirty: sb0.resyncOffset !== null && sb0.resyncOffset !== Infinity };
}

function fwdScript(c, prep, base, md) {
  const live = [0, 1, 2].map((i) => `$(dev ${base + i})`).join(' ');
  const L = [`echo "@@CASE ${c.id}"; tick start`];
  L.push(`mdadm --assemble /dev/${md} --run ${live} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  L.push(`echo "@@ATSTART $(cat /sys/block/${md}/md/array_state) $(cat /sys/block/${md}/md/sync_action) degraded=$(cat /sys/block/${md}/md/degraded) policy=$(cat /sys/block/${md}/md/consistency_policy)"`);
  L.push(`echo "@@KV shaA $(devsha /dev/${md} 0 ${prep.a0})"; echo "@@KV shaB $(devsha /dev/${md} ${prep.b0} ${prep.size - prep.b0})"`);
  L.push(`dmesg | grep -i -E 'ppl|dirty' | sed 's/^/@@LOG /'`);
  L.push(`mdadm --zero-superblock $(dev ${base + 3}); mdadm /dev/${md} --add $(dev ${base + 3}) 2>&1 | sed 's/^/@@LOG /'; mdwait ${md}`);
  L.push(`echo "@@KV shaA2 $(devsha /dev/${md} 0 ${prep.a0})"; echo "@@KV shaB2 $(devsha /dev/${md} ${prep.b0} ${prep.size - prep.b0})"`);
  L.push(`mdcheck ${md}`);
  L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'`);
  L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  L.push('fi');
  L.push(`tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

function fwdVerify(c, prep, out, ctx) {
  const kv = out.kv ?? {};
  const bytes = kv.shaA === prep.shaA && kv.shaB === prep.shaB;
  const after = kv.shaA2 === prep.shaA && kv.shaB2 === prep.shaB;
  const policy = out.detail.some((l) => /Consistency Policy : ppl/.test(l));
  const ok = !!out.assembled && prep.dirty && bytes && after && out.check?.mismatch === '0' && policy;
  ctx.record(c, {
    ok, assemble: !!out.assembled, atStart: out.atStart, acked: prep.acked, logEntries: prep.entries, dirty: prep.dirty, log: out.log,
    summary: `killed after ${prep.acked + 1} writes (log entries ${prep.entries.join('/')}, dirty=${prep.dirty}) md start=[${out.atStart ?? '-'}] degraded bytes=${bytes ? 'match' : 'DIFF'} after re-add=${after ? 'match' : 'DIFF'} mismatch_cnt=${out.check?.mismatch ?? '-'} policy=${policy ? 'ppl' : 'DIFF'}`,
  });
}

async function revPrepare(c, ctx) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  await ctx.mkdir(p.dir);
  p.members.forEach((m) => ctx.sparse(m, c.size));
  // md's array size is not known here: payloads as large as any 16 MiB-member array can be.
  const bound = 3 * c.size;
  writeFileSync(p.p1, fill(bound, 2));
  writeFileSync(p.p2, fill(bound, 3));
  return { bound };
}

function revScript(c, prep, base, md) {
  const devs = [0, 1, 2, 3].map((i) => `$(dev ${base + i})`).join(' ');
  const L = [`echo "@@CASE ${c.id}"; tick start`];
  L.push(`mdadm --create /dev/${md} --run --metadata=1.2 --level=5 --layout=${c.layout} --chunk=${c.chunk} --raid-devices=4 --consistency-policy=ppl --assume-clean ${devs} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  L.push(`S=$(($(cat /sys/block/${md}/size) * 512)); echo "@@ARRAYSIZE $S"`);
  L.push(`dd if=$(dev ${base + 4}) of=/dev/${md} bs=64k count=$((S / 65536)) conv=notrunc,fsync 2>/dev/null`);
  // The writes cut by the reset: unaligned 512-byte-sector pieces of 90 KiB slots, data from payload 2 at the same offsets.
  L.push(`echo "@@KV policy $(cat /sys/block/${md}/md/consistency_policy)"`);
  L.push(`( for i in $(seq 0 399); do set -- $(node_plan $i $S); dd if=$(dev ${base + 5}) of=/dev/${md} bs=512 skip=$1 seek=$1 count=$2 conv=notrunc,fsync 2>/dev/null; echo "@@ACK $i"; done ) &`);
  L.push('sleep 3; echo b > /proc/sysrq-trigger; sleep 30');
  L.push('fi');
  L.push(`tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

/** The shell version of slotWrite (sector-aligned), for the VM: prints "SECTOR COUNT" of write $1 in an array of $2 bytes. */
export const SHELL_PLAN = `node_plan() {
  slot=184; slots=$(( $2 / 512 / slot )); k=$(( ($1 * 7) % slots ))
  echo "$(( k * slot + ($1 * 3) % 40 )) $(( slot - 48 - ($1 * 5) % 60 ))"
}`;

/** Reads the array from `live` (read-only) and counts sectors no allowed version explains; -1 when the read fails. */
async function degradedRead(ctx, p, live, size, lastAck, c) {
  const outFile = join(p.dir, 'read.bin');
  const rd = await ctx.asx(['read', '--output', outFile, ...live], { allowFail: true });
  if (rd.error) return -1;
  const got = readAt(outFile, 0, size);
  const p1 = fill(3 * c.size, 2);
  const p2 = fill(3 * c.size, 3);
  // Per sector: the last write that may have touched it (md-side), or none.
  const owner = new Int32Array(size / 512).fill(-1);
  for (let i = 0; i <= Math.min(399, lastAck + MD_SLACK); i++) {
    const w = slotWrite(i, size, 512);
    for (let s = w.at / 512; s < (w.at + w.len) / 512; s++) owner[s] = i;
  }
  let wrong = 0;
  for (let s = 0; s < owner.length; s++) {
    const g = got.subarray(s * 512, s * 512 + 512);
    const old = p1.subarray(s * 512, s * 512 + 512);
    const neu = p2.subarray(s * 512, s * 512 + 512);
    const i = owner[s];
    if (!(i < 0 ? g.equals(old) : i <= lastAck ? g.equals(neu) : g.equals(old) || g.equals(neu))) wrong++;
  }
  return wrong;
}

async function revVerify(c, prep, out, ctx) {
  const p = ctx.paths(c);
  const size = Number(out.arraySize);
  const lastAck = Math.max(-1, ...(out.acks ?? []).map(Number));
  const entries = await logEntries(ctx, p.members);
  const sb0 = (await ctx.asx(['examine', p.members[0]], { json: true }))[0];
  const dirty = sb0.resyncOffset !== null && sb0.resyncOffset !== Infinity;
  // Control: read-only assembly replays nothing, so stripes torn at the reset read wrong there (the hole).
  const live = p.members.slice(0, 3);
  const control = await degradedRead(ctx, p, live, size, lastAck, c);
  // asynctx assembles degraded (member 3 left out), writable: PPL recovery runs at assembly.
  const upd = await ctx.asx(['update', '--consistency-policy', 'ppl', ...live], { allowFail: true });
  const wrong = upd.error ? -1 : await degradedRead(ctx, p, live, size, lastAck, c);
  // The member left out comes back through asynctx's own rebuild, then asynctx's check.
  rmSync(p.members[3], { force: true });
  ctx.sparse(p.members[3], c.size);
  const add = await ctx.asx(['add', '--member', p.members[3], ...live], { allowFail: true });
  const chk = add.error ? { error: add.error } : await ctx.asx(['check', ...p.members], { json: true, allowFail: true });
  const ok = !!out.assembled && out.kv?.policy === 'ppl' && dirty && wrong === 0 && chk.mismatches === 0 && lastAck >= 0;
  ctx.record(c, {
    ok, assemble: !!out.assembled, lastAck, logEntries: entries, dirty, wrongSectors: wrong, wrongWithoutLog: control, errors: [upd.error, add.error, chk.error].filter(Boolean), log: out.log,
    summary: `md wrote ${lastAck + 1} acknowledged writes before the reset (log entries ${entries.join('/')}, dirty=${dirty}) asx degraded read: ${wrong === 0 ? 'every sector as written' : `${wrong} sectors WRONG`} (read-only, log not replayed: ${control} wrong) asxCheck after rebuild=${chk.mismatches ?? chk.error}`,
  });
}

/** A job of matrix.mjs's runBatches for a PPL case. */
export function pplJob(c, ctx) {
  const p = ctx.paths(c);
  const disks = c.dir === 'pplrev' ? [...p.members, p.p1, p.p2] : p.members;
  return c.dir === 'pplfwd'
    ? { c, id: c.id, ndisks: disks.length, disks, prepare: () => fwdPrepare(c, ctx), script: (prep, base, md) => fwdScript(c, prep, base, md), verify: (prep, out) => fwdVerify(c, prep, out, ctx) }
    : { c, id: c.id, ndisks: disks.length, disks, prepare: () => revPrepare(c, ctx), script: (prep, base, md) => `${SHELL_PLAN}\n${revScript(c, prep, base, md)}`, verify: (prep, out) => revVerify(c, prep, out, ctx) };
}
