/**
 * `asynctx raid`: mdadm-shaped verbs over md RAID-4/5/6 members (files or
 * block devices), given in any order. create, examine and detail live here;
 * read/write in raid_io.ts; check, repair, rebuild, fail, remove, add and
 * status in raid_manage.ts; the benchmark in raid-bench.ts.
 */
import { stat } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  create,
  detailJson,
  detailText,
  examineText,
  badBlocksText,
  bitmapExamineJson,
  bitmapExamineText,
  readMemberBadBlocks,
  readMemberBitmap,
  FileMember,
  formatUuid,
  isNbdUri,
  parseLayout,
  readSuperblock,
  resync,
  SECTOR,
  type Member,
} from '../raid/index.js';
import { exists } from '../raid/member.js';
import { engineOptions, note, openArray, openMember, parseOffset, progress, type ArrayFlags } from './raid_common.js';
import { engineFor, parseBytes, printJson, type Engine } from '../cli_support.js';
import { raidRead, raidWrite } from './raid_io.js';
import { raidServe } from './raid_serve.js';
import { raidAdd, raidFail, raidRebuild, raidRemove, raidScrub, raidStatus } from './raid_manage.js';

function parseLevel(v: string): number {
  const n = Number(v.replace(/^raid/i, ''));
  if (n !== 4 && n !== 5 && n !== 6) throw new InvalidArgumentError('--level must be 4, 5 or 6');
  return n;
}

interface CreateFlags extends ArrayFlags {
  level: number;
  chunk: number;
  layout: string;
  memberSize?: number;
  name?: string;
  assumeClean?: boolean;
}

async function raidCreate(paths: string[], flags: CreateFlags): Promise<void> {
  const layout = parseLayout(flags.level, flags.layout);
  const members: Array<Member | null> = [];
  let engine: Engine | null = null;
  try {
    for (const p of paths) {
      if (p === 'missing') {
        members.push(null);
        continue;
      }
      if (isNbdUri(p)) {
        members.push(await openMember(p));
        continue;
      }
      if (!(await exists(p))) {
        if (flags.memberSize === undefined) throw new InvalidArgumentError(`${p} does not exist: give --member-size to create it`);
        members.push(await FileMember.create(p, flags.memberSize));
        continue;
      }
      const st = await stat(p);
      // A regular file shorter than --member-size is extended (sparse); devices are used as they are.
      members.push(st.isFile() && flags.memberSize !== undefined ? await FileMember.create(p, flags.memberSize) : await FileMember.open(p));
    }
    engine = engineFor(flags);
    const array = await create(members, {
      level: flags.level,
      layout,
      chunkBytes: flags.chunk,
      name: flags.name,
      assumeClean: flags.assumeClean === true,
      overwrite: flags.force === true,
      ownsMembers: true,
      ops: engine.ops,
      ownsOps: true,
      log: (m) => note(flags, m),
    });
    engine = null; // the array closes it
    try {
      if (array.needsResync) {
        const bar = progress('initial sync', flags);
        await resync(array, { progress: (d, t) => bar.update(d, t) });
        bar.end();
      }
      const m = array.table.master;
      if (flags.json) printJson(detailJson(array));
      else {
        process.stdout.write(
          `created ${array.levelName} ${array.uuid} (${m.setName}): ${m.raidDisks} members, ${m.chunkSize / 2}K chunk, ${array.layoutName}, ` +
            `${array.size} bytes; data offset ${m.dataOffset} sectors, ${m.size} sectors used per member\n`,
        );
      }
    } finally {
      await array.stop();
    }
  } catch (err) {
    await Promise.all(members.map((m) => m?.close().catch(() => undefined)));
    await engine?.close();
    throw err;
  }
}

type ExamineFlags = ArrayFlags & { bitmap?: boolean; badblocks?: boolean };

async function raidExamine(paths: string[], flags: ExamineFlags): Promise<void> {
  let bad = 0;
  const out: unknown[] = [];
  for (const p of paths) {
    const m = await openMember(p, true);
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

async function raidDetail(paths: string[], flags: ArrayFlags): Promise<void> {
  const { array } = await openArray(paths, { ...flags, readonly: true });
  try {
    if (flags.json) printJson(detailJson(array));
    else process.stdout.write(detailText(array));
  } finally {
    await array.stop();
  }
}

function common(cmd: Command, readonlyOption = true): Command {
  cmd.option('--json', 'print the result as JSON on stdout').option('-q, --quiet', 'no progress or notes on stderr');
  cmd.option('--force', 'start a dirty degraded array anyway / overwrite existing superblocks');
  if (readonlyOption) cmd.option('--readonly', 'write nothing (superblocks included); reads arrays with a bitmap or PPL too');
  return cmd;
}

/** Registers `asynctx raid …` . */
export function registerRaid(program: Command): void {
  const raid = program
    .command('raid')
    .description('md-compatible RAID-4/5/6 on files or block devices: create, inspect, read, write, check, repair, rebuild')
    .addHelpText(
      'after',
      `
Members are given in any order; assembly sorts them by their md superblocks.
Arrays are Linux md (metadata 1.2) arrays: mdadm --assemble takes them as they are.

Examples:
  asynctx raid create --level 6 --chunk 64K --layout left-symmetric --member-size 64M d0 d1 d2 d3 d4 d5
  asynctx raid write --input data.bin d*                 # at array offset 0
  asynctx raid read --output out.bin --length 1M d1 d3 d4 d5   # two members missing: rebuilt from P+Q
  asynctx raid check --json d*                          # {"mismatches": 0, ...}
  asynctx raid fail --member d2 d*; asynctx raid add --member new2 d0 d1 d3 d4 d5
Exit status: 0 ok; 1 failure (one line on stderr); 2 usage error; 130 interrupted rebuild (checkpoint kept).`,
    );

  engineOptions(common(raid.command('create').argument('<members...>', "member paths ('missing' leaves a slot empty)")))
    .description('write md superblocks onto new members (files are created sparse) and compute initial parity')
    .addOption(new Option('--level <n>', 'RAID level: 4, 5 or 6').argParser(parseLevel).makeOptionMandatory())
    .addOption(new Option('--chunk <size>', 'chunk size, a power of two from 4K').argParser(parseBytes).default(512 * 1024, '512K'))
    .option('--layout <name>', 'md layout: left-symmetric, right-asymmetric, parity-first, left-symmetric-6, …', 'left-symmetric')
    .addOption(new Option('--member-size <size>', 'size of member files to create (64M, 2G, …)').argParser(parseBytes))
    .option('--name <name>', 'array name (stored as host:name, as mdadm does)')
    .option('--assume-clean', 'skip the initial parity sync (members known to be zero or in sync)')
    .action((members: string[], flags: CreateFlags) => raidCreate(members, flags));

  common(raid.command('examine').argument('<members...>'), false)
    .description("print each member's md superblock, like mdadm --examine")
    .option('--bitmap', "print the member's internal write-intent bitmap instead, like mdadm -X")
    .option('--badblocks', "list the member's bad-block log instead, like mdadm --examine-badblocks")
    .action((members: string[], flags: ExamineFlags) => raidExamine(members, flags));

  common(raid.command('detail').argument('<members...>'), false)
    .description('assemble (read-only) and describe the array, like mdadm --detail')
    .action((members: string[], flags: ArrayFlags) => raidDetail(members, flags));

  engineOptions(common(raid.command('read').argument('<members...>', 'present members; absent ones are rebuilt from parity'), false))
    .description('copy array bytes to a file')
    .requiredOption('-o, --output <file>', "destination file ('-' for stdout)")
    .addOption(new Option('--offset <bytes>', 'array byte offset').argParser(parseOffset).default(0))
    .addOption(new Option('--length <bytes>', 'bytes to read (default: to the end)').argParser(parseOffset))
    .action((members: string[], flags) => raidRead(members, flags));

  engineOptions(common(raid.command('write').argument('<members...>'), false))
    .description('copy a file into the array (any offset; unaligned edges are read-modify-written)')
    .requiredOption('-i, --input <file>', 'source file')
    .addOption(new Option('--offset <bytes>', 'array byte offset').argParser(parseOffset).default(0))
    .action((members: string[], flags) => raidWrite(members, flags));

  engineOptions(common(raid.command('serve').argument('<members...>', 'present members; absent ones are rebuilt from parity')))
    .description('serve the array over NBD until SIGINT/SIGTERM (default 127.0.0.1:10809)')
    .option('--socket <path>', 'listen on a unix socket')
    .option('--listen <host:port>', 'listen on TCP (anything but loopback must be given explicitly)')
    .option('--export <name>', 'export name (default: the empty name)')
    .action((members: string[], flags) => raidServe(members, flags));

  engineOptions(common(raid.command('check').argument('<members...>'), false))
    .description("verify parity, count mismatched sectors like md's mismatch_cnt (writes nothing)")
    .action((members: string[], flags: ArrayFlags) => raidScrub(members, 'check', flags));

  engineOptions(common(raid.command('repair').argument('<members...>'), false))
    .description('verify parity and rewrite P/Q where they disagree with the data')
    .action((members: string[], flags: ArrayFlags) => raidScrub(members, 'repair', flags));

  engineOptions(common(raid.command('rebuild').argument('<members...>'), false))
    .description('rebuild members being recovered (or a spare into a missing slot); resumes from the checkpoint')
    .action((members: string[], flags: ArrayFlags) => raidRebuild(members, flags));

  common(raid.command('fail').argument('<members...>'), false)
    .description('mark a member faulty (its slot is then rebuilt from parity)')
    .requiredOption('--member <path|slot>', 'the member to fail')
    .action((members: string[], flags: ArrayFlags & { member: string }) => raidFail(members, flags.member, flags));

  common(raid.command('remove').argument('<members...>'), false)
    .description('drop a faulty member from the role table')
    .requiredOption('--member <path|slot>', 'the member to remove')
    .action((members: string[], flags: ArrayFlags & { member: string }) => raidRemove(members, flags.member, flags));

  engineOptions(common(raid.command('add').argument('<members...>', 'the array members present'), false))
    .description('add a member (created sparse if absent) into a missing slot and rebuild it, or as a spare')
    .requiredOption('--member <path>', 'the new member')
    .option('--no-rebuild', 'only add; run `raid rebuild` later')
    .action((members: string[], flags) => raidAdd(members, flags));

  common(raid.command('status').argument('<members...>'), false)
    .description('one-screen state, like /proc/mdstat')
    .action((members: string[], flags: ArrayFlags) => raidStatus(members, flags));

}
