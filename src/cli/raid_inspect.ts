/**
 * `asynctx raid examine`, `detail` and `status`: print superblocks (or a
 * member's bitmap and bad-block log) and describe an assembled array. They
 * compute nothing, so they run on no engine: no client, no kernels, no workers,
 * not even the submit path; the modules are imported themselves, not through
 * the raid/index.js barrel (test/cli/startup.test.ts checks what loads).
 */
import { readSuperblock } from '../raid/assemble.js';
import { badBlocksText } from '../raid/badblocks.js';
import { bitmapExamineJson, bitmapExamineText } from '../raid/bitmap.js';
import { readMemberBadBlocks, readMemberBitmap } from '../raid/member_logs.js';
import { detailJson, detailText, examineText, stateWords } from '../raid/report.js';
import { formatUuid, SECTOR } from '../raid/superblock.js';
import { printJson } from './output.js';
import { openArray, openMember, type ArrayFlags } from './raid_common.js';

export type ExamineFlags = ArrayFlags & { bitmap?: boolean; badblocks?: boolean };

export async function raidExamine(paths: string[], flags: ExamineFlags): Promise<void> {
  let bad = 0;
  const out: unknown[] = [];
  for (const p of paths) {
    const m = await openMember(p, flags, true);
    try {
      const sb = await readSuperblock(m);
      if (flags.bitmap) {
        const bm = await readMemberBitmap(m, sb);
        if (flags.json) out.push(bitmapExamineJson(p, bm.super, bm.bits));
        else process.stdout.write(bitmapExamineText(p, bm.super, bm.bits));
      } else if (flags.badblocks) {
        const list = await readMemberBadBlocks(m, sb);
        if (flags.json) out.push({ path: p, badBlocks: list });
        else process.stdout.write(badBlocksText(p, sb, list));
      } else if (flags.json) out.push({ path: p, ...sb, setUuid: formatUuid(sb.setUuid), deviceUuid: formatUuid(sb.deviceUuid), devRoles: sb.devRoles.slice(0, Math.max(sb.raidDisks, sb.devNumber + 1)) });
      else process.stdout.write(examineText(p, sb, Math.floor(m.size / SECTOR)));
    } catch (err) {
      bad++;
      if (flags.json) out.push({ path: p, error: (err as Error).message });
      else process.stderr.write(`asynctx raid: ${(err as Error).message}\n`);
    } finally {
      await m.close();
    }
  }
  if (flags.json) printJson(out);
  if (bad) process.exitCode = 1;
}

export async function raidDetail(paths: string[], flags: ArrayFlags): Promise<void> {
  const { array } = await openArray(paths, { ...flags, readonly: true }, 'report');
  try {
    if (flags.json) printJson(detailJson(array));
    else process.stdout.write(detailText(array));
  } finally {
    await array.stop();
  }
}

export async function raidStatus(paths: string[], flags: ArrayFlags): Promise<void> {
  const { array } = await openArray(paths, { ...flags, readonly: true }, 'report');
  try {
    if (flags.json) {
      printJson(detailJson(array));
      return;
    }
    const marks = array.slots.map((s) => (s.state === 'in_sync' ? 'U' : '_')).join('');
    const up = array.slots.filter((s) => s.state === 'in_sync').length;
    const g = array.geometry;
    process.stdout.write(
      `${array.name} : ${stateWords(array)} ${array.levelName} ${array.uuid}\n` +
        `      ${array.size / 1024} blocks super 1.${array.table.master.minorVersion} level ${g.level}, ${g.chunkSectors / 2}k chunk, algorithm ${g.layout} [${g.raidDisks}/${up}] [${marks}]\n`,
    );
    for (const [i, s] of array.slots.entries()) {
      if (s.state === 'recovering') {
        const pct = ((100 * s.recoveryOffset) / array.componentSectors).toFixed(1);
        process.stdout.write(`      recovery of slot ${i} = ${pct}% (${s.recoveryOffset / 2}/${array.componentSectors / 2})\n`);
      }
    }
  } finally {
    await array.stop();
  }
}
