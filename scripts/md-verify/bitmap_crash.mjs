// md-verify write-intent bitmap cases across a crash, both ways.
//
//   bm-fwd-kill: asynctx writes into its bitmap RAID-5 (bitmap_writer.mjs, a few
//     chunks' worth of unaligned writes) and is killed with SIGKILL; its bits are
//     set. md assembles, resyncs only the dirty chunks (mdadm -X's dirty count
//     before; the resync's time against md's full repair pass of the same array),
//     every byte outside the write in flight reads back, check 0.
//   bm-rev-kill: mdadm's bitmap array, a loop of dd writes cut by a sysrq reset;
//     asynctx assembles it, resyncs from md's bitmap (bitmap_sync.mjs: bytes
//     skipped; the time against a full resync of a copy with the bitmap marked
//     stale), check 0, every sector as the writes left it.
// The re-add cases are in bitmap_readd.mjs.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureBitmap, xb, xdirty } from './bitmap_cases.mjs';
import { killedWriter } from './killed_writer.mjs';
import { fill, regionWrite } from './ppl_plan.mjs';
import { readdJob } from './bitmap_readd.mjs';

const M = 1024 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const SHAPE = { level: 5, layout: 'left-symmetric', chunk: 64, n: 4, size: 64 * M, bchunk: '512K' };
/** Payload 1 (8 MiB at 0) and the crash writes' region (from 16 MiB). */
const P1 = 8 * M;
const REGION = 16 * M;
const REGION_END = REGION + 4 * M;
/** Writes asynctx must have acknowledged before the kill; md-side writes that may have been in flight at the reset. */
const ACKS = 20;
const MD_SLACK = 4;
/** The re-add cases' degraded write. */
const O2 = 20 * M + 3 * 512;
const P2 = M;

export function crashCases() {
  const id = (tag, s) => `bm-${tag}-r${s.level}-${s.layout}-${s.chunk}k-${s.n}x${s.size / M}M-bc${s.bchunk}`;
  const r6 = { ...SHAPE, level: 6, n: 5 };
  return [
    { ...SHAPE, dir: 'bmfwdkill', id: id('fwd-kill', SHAPE) },
    { ...SHAPE, dir: 'bmrevkill', id: id('rev-kill', SHAPE), crashesVm: true },
    { ...SHAPE, dir: 'bmfwdreadd', id: id('fwd-readd', SHAPE) },
    { ...r6, dir: 'bmrevreadd', id: id('rev-readd', r6) },
    { ...r6, dir: 'bmfwdmdreadd', id: id('fwd-mdreadd', r6) },
  ];
}

/** The shell version of regionWrite(i, REGION, 512): prints "SECTOR COUNT" of write $1. */
const SHELL_REGION = `region_plan() {
  echo "$(( ${REGION / 512} + $1 * 184 + ($1 * 3) % 40 )) $(( 184 - 48 - ($1 * 5) % 60 ))"
}`;

/** bitmap_sync.mjs on `members`: {bytes, skipped, mismatches, wallMs, cpuMs, …}. */
function timedResync(ctx, mode, members) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'bitmap_sync.mjs'), join(ctx.distDir(), 'src/raid/index.js'), mode, ...members], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`bitmap_sync ${mode} exited ${code}: ${err.trim()}`))));
  });
}

export const dirtyOf = async (ctx, members) => (await Promise.all(members.map((m) => ctx.asx(['examine', '--bitmap', m], { json: true })))).map((x) => x[0]);
const secs = (times, a, b) => {
  const t = Object.fromEntries((times ?? []).map((l) => [l.split(' ').slice(0, -1).join(' '), Number(l.split(' ').at(-1))]));
  return t[a] !== undefined && t[b] !== undefined ? Number((t[b] - t[a]).toFixed(2)) : null;
};

// ------------------------------------------------------------ bm-fwd-kill
async function fwdKillPrepare(c, ctx) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  await ctx.asx(['create', '--level', String(c.level), '--layout', c.layout, '--chunk', `${c.chunk}K`, '--bitmap', 'internal', '--bitmap-chunk', c.bchunk, '--assume-clean', '--member-size', String(c.size), ...p.members]);
  const image = Buffer.alloc(REGION_END);
  image.set(fill(P1, 31), 0);
  writeFileSync(p.p1, image.subarray(0, P1));
  await ctx.asx(['write', '--input', p.p1, ...p.members]);
  const acked = await killedWriter(join(here, 'bitmap_writer.mjs'), [join(ctx.distDir(), 'src/raid/index.js'), String(REGION), ...p.members], ACKS);
  for (let i = 0; i <= acked; i++) {
    const w = regionWrite(i, REGION, 1);
    image.set(fill(w.len, w.seed), w.at);
  }
  // The write in flight at the kill may have left either version of its sectors; everything else is known.
  const w = regionWrite(acked + 1, REGION, 1);
  const a0 = Math.floor(w.at / 512) * 512;
  const b0 = Math.ceil((w.at + w.len) / 512) * 512;
  const bits = await dirtyOf(ctx, p.members);
  const sb0 = (await ctx.asx(['examine', p.members[0]], { json: true }))[0];
  return { acked, a0, b0, shaA: ctx.sha(image.subarray(0, a0)), shaB: ctx.sha(image.subarray(b0)), bits, dirty: sb0.resyncOffset !== null && sb0.resyncOffset !== Infinity };
}

function fwdKillScript(c, prep, base, md) {
  const devs = Array.from({ length: c.n }, (_, i) => `$(dev ${base + i})`);
  const L = [`echo "@@CASE ${c.id}"; tick start`, xb('B0', devs[0])];
  L.push(`tick assemble; mdadm --assemble /dev/${md} --run ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  L.push(`echo "@@ATSTART $(cat /sys/block/${md}/md/array_state) $(cat /sys/block/${md}/md/sync_action) degraded=$(cat /sys/block/${md}/md/degraded)"`);
  L.push(`mdwait ${md}; tick resynced; echo "@@KV lastsync $(cat /sys/block/${md}/md/last_sync_action)"`);
  L.push(`echo "@@KV shaA $(devsha /dev/${md} 0 ${prep.a0})"; echo "@@KV shaB $(devsha /dev/${md} ${prep.b0} ${REGION_END - prep.b0})"`);
  L.push(`tick check; mdcheck ${md}; tick checked`);
  // md's full pass over the same array, for the time: repair is resync's code path, every stripe.
  L.push(`echo repair > /sys/block/${md}/md/sync_action; mdwait ${md}; tick repaired; echo "@@KV repaired $(cat /sys/block/${md}/md/mismatch_cnt)"`);
  L.push(`dmesg | grep -i -E 'bitmap|resync|dirty' | sed 's/^/@@LOG /'`);
  L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'`);
  L.push(`mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`, xb('A0', devs[0]));
  L.push('fi', `tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

function fwdKillVerify(c, prep, out, ctx) {
  const kv = out.kv ?? {};
  const before = xdirty(out.xb?.B0);
  const after = xdirty(out.xb?.A0);
  const resyncS = secs(out.times, 'assemble', 'resynced');
  const checkS = secs(out.times, 'check', 'checked');
  const repairS = secs(out.times, 'checked', 'repaired');
  const bytes = kv.shaA === prep.shaA && kv.shaB === prep.shaB;
  const asxDirty = prep.bits.map((b) => b.dirty);
  const ok = !!out.assembled && prep.dirty && before?.dirty === asxDirty[0] && before.dirty > 0 && before.dirty < before.bits / 4 && kv.lastsync === 'resync' &&
    bytes && out.check?.mismatch === '0' && kv.repaired === '0' && resyncS !== null && repairS !== null && resyncS < repairS;
  ctx.record(c, {
    ok, acked: prep.acked, asxDirty, mdDirtyBefore: before, mdDirtyAfterStop: after, resyncSeconds: resyncS, checkSeconds: checkS, repairSeconds: repairS, lastSync: kv.lastsync, raw: { log: out.log, times: out.times, xb: out.xb },
    summary: `killed after ${prep.acked + 1} writes; dirty bits asx ${asxDirty.join('/')} md -X ${before ? `${before.dirty}/${before.bits}` : '-'}; md ${kv.lastsync ?? '-'} at assembly ${resyncS ?? '-'} s (full check ${checkS ?? '-'} s, full repair ${repairS ?? '-'} s) bytes=${bytes ? 'match' : 'DIFF'} mismatch_cnt=${out.check?.mismatch ?? '-'} repair=${kv.repaired ?? '-'} -X after stop ${after ? after.dirty : '-'} dirty (VM under TCG)`,
  });
}

// ------------------------------------------------------------ bm-rev-kill
async function revKillPrepare(c, ctx) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  p.members.forEach((m) => ctx.sparse(m, c.size));
  writeFileSync(p.p1, fill(P1, 41));
  writeFileSync(p.p2, fill(REGION_END, 42));
  return {};
}

function revKillScript(c, _prep, base, md) {
  const devs = Array.from({ length: c.n }, (_, i) => `$(dev ${base + i})`);
  const L = [SHELL_REGION, `echo "@@CASE ${c.id}"; tick start`];
  L.push(`mdadm --create /dev/${md} --run --metadata=1.2 --level=${c.level} --layout=${c.layout} --chunk=${c.chunk} --raid-devices=${c.n} --assume-clean --bitmap=internal --bitmap-chunk=${c.bchunk} ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e /sys/block/${md}/md/array_state ]; then echo "@@ASSEMBLED"`);
  L.push(`echo "@@ARRAYSIZE $(($(cat /sys/block/${md}/size) * 512))"`);
  // Under TCG a dd between two writes can take longer than md's safe-mode delay (200 ms): md would
  // mark the array clean in that gap, and a reset there is a clean stop, not the crash this case is.
  L.push(`echo 30 > /sys/block/${md}/md/safe_mode_delay`);
  L.push(`dd if=$(dev ${base + c.n}) of=/dev/${md} bs=64k count=${P1 / 65536} conv=notrunc,fsync 2>/dev/null`);
  // md clears the payload's bits two daemon passes (5 s each) after it drained: wait for that, so that only the cut writes are dirty.
  L.push(`n=0; while [ $n -lt 400 ] && ! mdadm -X ${devs[0]} | grep -q ' 0 dirty'; do sleep 0.1; n=$((n+1)); done; ${xb('C0', devs[0])}`);
  L.push(`( i=0; while [ $i -lt 400 ]; do set -- $(region_plan $i); dd if=$(dev ${base + c.n + 1}) of=/dev/${md} bs=512 skip=$1 seek=$1 count=$2 conv=notrunc,fsync 2>/dev/null; echo "@@ACK $i"; i=$((i+1)); done ) &`);
  L.push('sleep 3; echo b > /proc/sysrq-trigger; sleep 30');
  L.push('fi', `tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

/** Sectors of array bytes [0, REGION_END) that no version the writes allow explains. */
function wrongSectors(got, lastAck, p1, p2) {
  const owner = new Int32Array(REGION_END / 512).fill(-1);
  for (let i = 0; i <= lastAck + MD_SLACK; i++) {
    const w = regionWrite(i, REGION, 512);
    for (let s = w.at / 512; s < (w.at + w.len) / 512; s++) owner[s] = i;
  }
  const zero = Buffer.alloc(512);
  let wrong = 0;
  for (let s = 0; s < owner.length; s++) {
    const g = got.subarray(s * 512, s * 512 + 512);
    const old = s * 512 < P1 ? p1.subarray(s * 512, s * 512 + 512) : zero;
    const neu = p2.subarray(s * 512, s * 512 + 512);
    const i = owner[s];
    if (!(i < 0 ? g.equals(old) : i <= lastAck ? g.equals(neu) : g.equals(old) || g.equals(neu))) wrong++;
  }
  return wrong;
}

async function revKillVerify(c, _prep, out, ctx) {
  const p = ctx.paths(c);
  const lastAck = Math.max(-1, ...(out.acks ?? []).map(Number));
  const settled = xdirty(out.xb?.C0);
  const bits = await dirtyOf(ctx, p.members);
  const sb0 = (await ctx.asx(['examine', p.members[0]], { json: true }))[0];
  const dirty = sb0.resyncOffset !== null && sb0.resyncOffset !== Infinity;
  if (ctx.capture) captureBitmap(ctx, c, { ...out, examine: [], detail: [] }, { asxDirty: bits.map((b) => b.dirty), bitmapJson: bits });
  // A copy of the crashed members with the bitmap marked stale: the same array, resynced whole.
  const ctrl = join(p.dir, 'full');
  mkdirSync(ctrl, { recursive: true });
  const copies = p.members.map((m, i) => join(ctrl, `m${i}.img`));
  p.members.forEach((m, i) => cpSync(m, copies[i]));
  const full = await timedResync(ctx, 'full', copies);
  rmSync(ctrl, { recursive: true, force: true });
  const guided = await timedResync(ctx, 'bitmap', p.members);
  const chk = await ctx.asx(['check', ...p.members], { json: true, allowFail: true });
  const rd = join(p.dir, 'read.bin');
  const r = await ctx.asx(['read', '--output', rd, '--length', String(REGION_END), ...p.members], { allowFail: true });
  const wrong = r.error ? -1 : wrongSectors(readFileSync(rd), lastAck, readFileSync(p.p1), readFileSync(p.p2));
  const afterBits = (await dirtyOf(ctx, p.members)).map((b) => b.dirty);
  const component = full.bytes;
  const ok = !!out.assembled && lastAck >= 0 && dirty && settled?.dirty === 0 && bits[0].dirty > 0 && guided.wasDirty && guided.skipped > 0 &&
    guided.bytes - guided.skipped <= guided.dirtyAtStart * 512 * 1024 && full.skipped === 0 && chk.mismatches === 0 && wrong === 0 && afterBits.every((d) => d === 0);
  ctx.record(c, {
    ok, lastAck, asxDirty: bits.map((b) => b.dirty), settled, guided, full, asxCheck: chk.mismatches ?? chk.error, wrongSectors: wrong, dirtyAfter: afterBits, log: out.log,
    summary: `md wrote ${lastAck + 1} acknowledged writes before the reset; dirty bits ${bits.map((b) => `${b.dirty}/${b.bits}`).join(' ')}; asx resync from md's bitmap: ${(guided.bytes - guided.skipped) / M} of ${guided.bytes / M} MiB per member in ${guided.wallMs} ms (cpu ${guided.cpuMs}) vs full ${full.wallMs} ms (cpu ${full.cpuMs}); asxCheck=${chk.mismatches ?? chk.error} read: ${wrong === 0 ? 'every sector as written' : `${wrong} sectors WRONG`} dirty after stop ${afterBits.join('/')}`,
  });
}

/** A job of matrix.mjs's runBatches for a crash or re-add case. */
export function crashJob(c, ctx) {
  const p = ctx.paths(c);
  const job = (disks, prepare, script, verify) => ({ c, id: c.id, ndisks: disks.length, disks, prepare: () => prepare(c, ctx), script: (prep, base, md) => script(c, prep, base, md), verify: (prep, out) => verify(c, prep, out, ctx) });
  switch (c.dir) {
    case 'bmfwdkill': return job(p.members, fwdKillPrepare, fwdKillScript, fwdKillVerify);
    case 'bmrevkill': return job([...p.members, p.p1, p.p2], revKillPrepare, revKillScript, revKillVerify);
    default: return readdJob(c, ctx, { P1, O2, P2, secs });
  }
}
