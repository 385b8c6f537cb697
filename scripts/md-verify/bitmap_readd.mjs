// md-verify write-intent bitmap cases: a member failed, written around, re-added.
//
//   bm-fwd-readd: asynctx fails a member, writes 1 MiB with it missing, removes
//     it and adds the same member file back (`raid add`: a re-add, its events no
//     older than events_cleared); the rebuild recovers only the chunks the bitmap
//     marks dirty — bytes skipped and time against a full rebuild onto a blank
//     member of the same array just before; asynctx's check 0; then md assembles
//     it: no resync or recovery, the bytes, check 0, no dirty bit.
//   bm-fwd-mdreadd: asynctx writes with a member failed and stops; md assembles
//     the rest, finds the dirty bits asynctx set (-X), and --re-add of the member
//     recovers only them (against a full recovery of the slot after it); check 0 in both.
//   bm-rev-readd: md does the same with mdadm --fail/--remove, dd, --re-add (the
//     time against a full recovery after --zero-superblock/--add of the same
//     member); md's check 0; then asynctx checks (0) and reads the bytes back.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureBitmap, mdAssembleScript, mdAssembleVerdict, xb, xdirty } from './bitmap_cases.mjs';
import { dirtyOf } from './bitmap_crash.mjs';
import { fill } from './ppl_plan.mjs';

const M = 1024 * 1024;

/** `raid add --json`: its "added in slot" line, then the rebuild's JSON. */
async function addJson(ctx, argv) {
  const out = await ctx.asx([...argv, '--json']);
  return JSON.parse(out.slice(out.indexOf('{')));
}

async function fwdPrepare(c, ctx, k) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  await ctx.asx(['create', '--level', String(c.level), '--layout', c.layout, '--chunk', `${c.chunk}K`, '--bitmap', 'internal', '--bitmap-chunk', c.bchunk, '--assume-clean', '--member-size', String(c.size), ...p.members]);
  writeFileSync(p.p1, fill(k.P1, 51));
  await ctx.asx(['write', '--input', p.p1, ...p.members]);
  const last = c.n - 1;
  const others = p.members.slice(0, last);
  const degradedWrite = async (seed) => {
    await ctx.asx(['fail', '--member', String(last), ...p.members]);
    writeFileSync(p.p2, fill(k.P2, seed));
    await ctx.asx(['write', '--input', p.p2, '--offset', String(k.O2), ...p.members]);
    const dirty = (await dirtyOf(ctx, others)).map((b) => b.dirty);
    await ctx.asx(['remove', '--member', p.members[last], ...p.members]);
    return dirty;
  };
  // A blank member into the slot: full recovery, the yardstick.
  await degradedWrite(52);
  rmSync(p.members[last]);
  const full = await addJson(ctx, ['add', '--member', p.members[last], ...others]);
  // The same member file back after a degraded write: a re-add, recovery from the bitmap.
  const dirty = await degradedWrite(53);
  const readd = await addJson(ctx, ['add', '--member', p.members[last], ...others]);
  const chk = await ctx.asx(['check', ...p.members], { json: true });
  const after = (await dirtyOf(ctx, p.members)).map((b) => b.dirty);
  return { full, readd, dirty, asxCheck: chk.mismatches, after };
}

async function fwdVerify(c, prep, out, ctx, k) {
  const p = ctx.paths(c);
  const v = mdAssembleVerdict(c, out, ctx, [ctx.sha(readFileSync(p.p1)), ctx.sha(readFileSync(p.p2))]);
  const chk = out.assembled ? await ctx.asx(['check', ...p.members], { json: true, allowFail: true }) : { error: 'not assembled' };
  const { full, readd } = prep;
  const recovered = readd.bytes - (readd.skipped ?? 0);
  const ok = v.ok && prep.dirty[0] > 0 && full.skipped === 0 && readd.skipped > 0 && recovered <= prep.dirty[0] * 512 * 1024 &&
    prep.asxCheck === 0 && prep.after.every((d) => d === 0) && chk.mismatches === 0;
  if (out.assembled) captureBitmap(ctx, c, out, { headsTag: 'A' });
  ctx.record(c, {
    ...v, ok, full, readd, dirty: prep.dirty, asxCheck: prep.asxCheck, asxCheckAfterMd: chk.mismatches ?? chk.error,
    summary: `asx: ${prep.dirty[0]} dirty bits after the degraded write; re-add recovered ${recovered / M} of ${readd.bytes / M} MiB per member in ${readd.seconds.toFixed(2)} s vs full rebuild ${full.bytes / M} MiB in ${full.seconds.toFixed(2)} s; asxCheck=${prep.asxCheck}, dirty after stop ${prep.after.join('/')} | md: ${v.summary} asxCheck after md=${chk.mismatches ?? chk.error}`,
  });
}

function revScript(c, base, md, k) {
  const devs = Array.from({ length: c.n }, (_, i) => `$(dev ${base + i})`);
  const last = devs[c.n - 1];
  const s = `/sys/block/${md}/md`;
  const settle = `n=0; while [ $n -lt 400 ] && ! mdadm -X ${devs[0]} | grep -q ' 0 dirty'; do sleep 0.1; n=$((n+1)); done`;
  const whole = `n=0; while [ "$(cat ${s}/degraded)" != 0 ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done; mdwait ${md}`;
  const L = [`echo "@@CASE ${c.id}"; tick start`];
  L.push(`mdadm --create /dev/${md} --run --metadata=1.2 --level=${c.level} --layout=${c.layout} --chunk=${c.chunk} --raid-devices=${c.n} --assume-clean --bitmap=internal --bitmap-chunk=${c.bchunk} ${devs.join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e ${s}/array_state ]; then echo "@@ASSEMBLED"; echo "@@ARRAYSIZE $(($(cat /sys/block/${md}/size) * 512))"`);
  L.push(`dd if=$(dev ${base + c.n}) of=/dev/${md} bs=64k count=${k.P1 / 65536} conv=notrunc,fsync 2>/dev/null; ${settle}`);
  // The yardstick: the member wiped and added back, a full recovery.
  L.push(`mdadm /dev/${md} --fail ${last} --remove ${last} 2>&1 | sed 's/^/@@LOG /'; mdadm --zero-superblock ${last}`);
  L.push(`tick full0; mdadm /dev/${md} --add ${last} 2>&1 | sed 's/^/@@LOG /'; ${whole}; tick full1; ${settle}`);
  // The re-add: a degraded write while the member is out, then the member as it was.
  L.push(`mdadm /dev/${md} --fail ${last} --remove ${last} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`dd if=$(dev ${base + c.n + 1}) of=/dev/${md} bs=512 seek=${k.O2 / 512} count=${k.P2 / 512} conv=notrunc,fsync 2>/dev/null; ${xb('D0', devs[0])}`);
  L.push(`tick readd0; mdadm /dev/${md} --re-add ${last} 2>&1 | sed 's/^/@@LOG /'; ${whole}; tick readd1; echo "@@KV lastsync $(cat ${s}/last_sync_action)"`);
  L.push(`echo "@@KV sha0 $(devsha /dev/${md} 0 ${k.P1})"; echo "@@KV sha1 $(devsha /dev/${md} ${k.O2} ${k.P2})"`);
  L.push(`mdcheck ${md}; dmesg | grep -i -E 'recovery|re-add|bitmap' | tail -8 | sed 's/^/@@LOG /'`);
  L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'; mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`mdadm --examine ${devs[0]} | sed 's/^/@@EXAMINE /'`);
  devs.forEach((d, i) => L.push(xb(`A${i}`, d)));
  L.push('fi', `tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

async function revVerify(c, out, ctx, k) {
  const p = ctx.paths(c);
  const kv = out.kv ?? {};
  const d = xdirty(out.xb?.D0);
  const fullS = k.secs(out.times, 'full0', 'full1');
  const readdS = k.secs(out.times, 'readd0', 'readd1');
  const mdBytes = kv.sha0 === ctx.sha(readFileSync(p.p1)) && kv.sha1 === ctx.sha(readFileSync(p.p2));
  const after = Array.from({ length: c.n }, (_, i) => xdirty(out.xb?.[`A${i}`])?.dirty);
  const chk = out.assembled ? await ctx.asx(['check', ...p.members], { json: true, allowFail: true }) : { error: 'not assembled' };
  const rd = join(p.dir, 'read.bin');
  let asxBytes = false;
  if (out.assembled) {
    await ctx.asx(['read', '--output', rd, '--length', String(k.P1), ...p.members]);
    const a = ctx.sha(readFileSync(rd)) === kv.sha0;
    await ctx.asx(['read', '--output', rd, '--offset', String(k.O2), '--length', String(k.P2), ...p.members]);
    asxBytes = a && ctx.sha(readFileSync(rd)) === kv.sha1;
    captureBitmap(ctx, c, out, { headsTag: 'A' });
  }
  const readded = out.log.some((l) => /re-added/.test(l));
  const ok = !!out.assembled && readded && d?.dirty > 0 && d.dirty < d.bits / 4 && /^recover/.test(kv.lastsync ?? '') && fullS !== null && readdS !== null && readdS < fullS &&
    mdBytes && out.check?.mismatch === '0' && after.every((x) => x === 0) && chk.mismatches === 0 && asxBytes;
  ctx.record(c, {
    ok, dirty: d, lastSync: kv.lastsync, fullSeconds: fullS, readdSeconds: readdS, mdBytes, asxBytes, asxCheck: chk.mismatches ?? chk.error, log: out.log, times: out.times,
    summary: `md: ${d ? `${d.dirty}/${d.bits}` : '-'} dirty bits after the degraded write; --re-add ${readded ? 're-added' : 'NOT re-added'}, ${kv.lastsync ?? '-'} ${readdS ?? '-'} s vs full recovery ${fullS ?? '-'} s (VM under TCG); bytes=${mdBytes ? 'match' : 'DIFF'} mismatch_cnt=${out.check?.mismatch ?? '-'} -X after stop ${after.join('/')} | asx check=${chk.mismatches ?? chk.error} read=${asxBytes ? 'match' : 'DIFF'}`,
  });
}

async function revPrepare(c, ctx, k) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  p.members.forEach((m) => ctx.sparse(m, c.size));
  writeFileSync(p.p1, fill(k.P1, 61));
  writeFileSync(p.p2, fill(k.P2, 62));
  return {};
}

// ------------------------------------------------------------ bm-fwd-mdreadd: asynctx writes with a member failed, md re-adds it
async function crossPrepare(c, ctx, k) {
  const p = ctx.paths(c);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  await ctx.asx(['create', '--level', String(c.level), '--layout', c.layout, '--chunk', `${c.chunk}K`, '--bitmap', 'internal', '--bitmap-chunk', c.bchunk, '--assume-clean', '--member-size', String(c.size), ...p.members]);
  writeFileSync(p.p1, fill(k.P1, 71));
  writeFileSync(p.p2, fill(k.P2, 72));
  await ctx.asx(['write', '--input', p.p1, ...p.members]);
  await ctx.asx(['fail', '--member', String(c.n - 1), ...p.members]);
  await ctx.asx(['write', '--input', p.p2, '--offset', String(k.O2), ...p.members]);
  return { dirty: (await dirtyOf(ctx, p.members.slice(0, c.n - 1))).map((b) => b.dirty) };
}

function crossScript(c, base, md, k) {
  const devs = Array.from({ length: c.n }, (_, i) => `$(dev ${base + i})`);
  const last = devs[c.n - 1];
  const s = `/sys/block/${md}/md`;
  const whole = `n=0; while [ "$(cat ${s}/degraded)" != 0 ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done; mdwait ${md}`;
  const L = [`echo "@@CASE ${c.id}"; tick start`, xb('B0', devs[0]), xb(`B${c.n - 1}`, last)];
  L.push(`mdadm --assemble /dev/${md} --run ${devs.slice(0, -1).join(' ')} 2>&1 | sed 's/^/@@LOG /'`);
  L.push(`if [ -e ${s}/array_state ]; then echo "@@ASSEMBLED"; echo "@@ATSTART $(cat ${s}/array_state) $(cat ${s}/sync_action) degraded=$(cat ${s}/degraded)"`);
  L.push(`tick readd0; mdadm /dev/${md} --re-add ${last} 2>&1 | sed 's/^/@@LOG /'; ${whole}; tick readd1; echo "@@KV lastsync $(cat ${s}/last_sync_action)"`);
  L.push(`echo "@@KV sha0 $(devsha /dev/${md} 0 ${k.P1})"; echo "@@KV sha1 $(devsha /dev/${md} ${k.O2} ${k.P2})"; mdcheck ${md}`);
  // The yardstick: the same slot wiped and recovered whole.
  L.push(`mdadm /dev/${md} --fail ${last} --remove ${last} 2>&1 | sed 's/^/@@LOG /'; mdadm --zero-superblock ${last}`);
  L.push(`tick full0; mdadm /dev/${md} --add ${last} 2>&1 | sed 's/^/@@LOG /'; ${whole}; tick full1`);
  L.push(`mdidle ${md}; mdadm --detail /dev/${md} | sed 's/^/@@DETAIL /'; mdadm --stop /dev/${md} 2>&1 | sed 's/^/@@LOG /'`);
  devs.forEach((d, i) => L.push(xb(`A${i}`, d)));
  L.push('fi', `tick end; echo "@@ENDCASE ${c.id}"`);
  return L.join('\n');
}

async function crossVerify(c, prep, out, ctx, k) {
  const p = ctx.paths(c);
  const kv = out.kv ?? {};
  const d = xdirty(out.xb?.B0);
  const readdS = k.secs(out.times, 'readd0', 'readd1');
  const fullS = k.secs(out.times, 'full0', 'full1');
  const mdBytes = kv.sha0 === ctx.sha(readFileSync(p.p1)) && kv.sha1 === ctx.sha(readFileSync(p.p2));
  const after = Array.from({ length: c.n }, (_, i) => xdirty(out.xb?.[`A${i}`])?.dirty);
  const chk = out.assembled ? await ctx.asx(['check', ...p.members], { json: true, allowFail: true }) : { error: 'not assembled' };
  const readded = out.log.some((l) => /re-added/.test(l));
  const ok = !!out.assembled && d?.dirty === prep.dirty[0] && d.dirty > 0 && readded && /^recover/.test(kv.lastsync ?? '') && readdS !== null && fullS !== null && readdS < fullS &&
    mdBytes && out.check?.mismatch === '0' && after.every((x) => x === 0) && chk.mismatches === 0;
  ctx.record(c, {
    ok, dirty: d, asxDirty: prep.dirty, lastSync: kv.lastsync, readdSeconds: readdS, fullSeconds: fullS, mdBytes, asxCheck: chk.mismatches ?? chk.error, log: out.log, times: out.times,
    summary: `asx wrote with slot ${c.n - 1} failed: dirty bits asx ${prep.dirty.join('/')} md -X ${d ? `${d.dirty}/${d.bits}` : '-'}; md --re-add ${readded ? 're-added' : 'NOT re-added'}, ${kv.lastsync ?? '-'} ${readdS ?? '-'} s vs full recovery ${fullS ?? '-'} s (VM under TCG); bytes=${mdBytes ? 'match' : 'DIFF'} mismatch_cnt=${out.check?.mismatch ?? '-'} -X after stop ${after.join('/')} | asx check=${chk.mismatches ?? chk.error}`,
  });
}

/** A job of matrix.mjs's runBatches for a re-add case; `k` holds the shared sizes (P1, O2, P2) and secs(). */
export function readdJob(c, ctx, k) {
  const p = ctx.paths(c);
  if (c.dir === 'bmfwdreadd') {
    return { c, id: c.id, ndisks: c.n, disks: p.members, prepare: () => fwdPrepare(c, ctx, k), script: (_, base, md) => mdAssembleScript(c, base, md, null, { shaAt: [[0, k.P1], [k.O2, k.P2]] }), verify: (prep, out) => fwdVerify(c, prep, out, ctx, k) };
  }
  if (c.dir === 'bmfwdmdreadd') {
    return { c, id: c.id, ndisks: c.n, disks: p.members, prepare: () => crossPrepare(c, ctx, k), script: (_, base, md) => crossScript(c, base, md, k), verify: (prep, out) => crossVerify(c, prep, out, ctx, k) };
  }
  const disks = [...p.members, p.p1, p.p2];
  return { c, id: c.id, ndisks: disks.length, disks, prepare: () => revPrepare(c, ctx, k), script: (_, base, md) => revScript(c, base, md, k), verify: (_, out) => revVerify(c, out, ctx, k) };
}
