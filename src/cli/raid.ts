/**
 * `asynctx raid`: mdadm-shaped verbs over md RAID-4/5/6 members (files or
 * block devices), given in any order. Only the verbs and their flags are
 * defined here, without loading anything they run: each verb's module is
 * imported when it runs (create in raid_create.ts, examine and detail in
 * raid_inspect.ts, read/write in raid_io.ts, serve in raid_serve.ts, the
 * maintenance verbs and status in raid_manage.ts), so --help or a status
 * never pays for the kernels or the worker engines.
 */
import { InvalidArgumentError, Option, type Command } from './commander.js';
import { parseBytes } from './flags.js';
import type { CreateFlags } from './raid_create.js';
import type { ExamineFlags } from './raid_inspect.js';
import type { AddFlags } from './raid_manage.js';
import type { ReadFlags, WriteFlags } from './raid_io.js';
import type { ServeFlags } from './raid_serve.js';
import { engineOptions, parseOffset, parseSeconds, type ArrayFlags } from './raid_options.js';

function parseLevel(v: string): number {
  const n = Number(v.replace(/^raid/i, ''));
  if (n !== 4 && n !== 5 && n !== 6) throw new InvalidArgumentError('--level must be 4, 5 or 6');
  return n;
}

const create = () => import('./raid_create.js');
const inspect = () => import('./raid_inspect.js');
const io = () => import('./raid_io.js');
const serve = () => import('./raid_serve.js');
const manage = () => import('./raid_manage.js');

function common(cmd: Command, readonlyOption = true): Command {
  cmd.option('--json', 'print the result as JSON on stdout').option('-q, --quiet', 'no progress or notes on stderr');
  cmd.option('--force', 'start a dirty degraded array anyway / overwrite existing superblocks');
  if (readonlyOption) cmd.option('--readonly', 'write nothing (superblocks included); reads arrays with a bitmap or PPL too');
  cmd.addOption(new Option('--nbd-timeout <seconds>', 'an NBD member whose server leaves a request unanswered this long fails (0: wait forever)').argParser(parseSeconds).default(30));
  return cmd;
}

/** Registers `asynctx raid …` . */
export function registerRaid(program: Command): void {
  const raid = registerRaidCommand(program);
  registerCreateVerbs(raid);
  registerInspectVerbs(raid);
  registerIoVerbs(raid);
  registerManageVerbs(raid);
}

/** The `raid` command itself, with its description and examples. */
function registerRaidCommand(program: Command): Command {
  return program
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
}

/** create, and update (which changes how a created array survives a crash). */
function registerCreateVerbs(raid: Command): void {
  engineOptions(common(raid.command('create').argument('<members...>', "member paths ('missing' leaves a slot empty)")))
    .description('write md superblocks onto new members (files are created sparse) and compute initial parity')
    .addOption(new Option('--level <n>', 'RAID level: 4, 5 or 6').argParser(parseLevel).makeOptionMandatory())
    .addOption(new Option('--chunk <size>', 'chunk size, a power of two from 4K').argParser(parseBytes).default(512 * 1024, '512K'))
    .option('--layout <name>', 'md layout: left-symmetric, right-asymmetric, parity-first, left-symmetric-6, …', 'left-symmetric')
    .addOption(new Option('--member-size <size>', 'size of member files to create (64M, 2G, …)').argParser(parseBytes))
    .option('--name <name>', 'array name (stored as host:name, as mdadm does)')
    .option('--assume-clean', 'skip the initial parity sync (members known to be zero or in sync)')
    .addOption(
      new Option('--consistency-policy <policy>', 'after a crash: resync parity, or replay a partial parity log (ppl, RAID-5: no write hole when degraded)')
        .choices(['resync', 'ppl'])
        .default('resync'),
    )
    .addOption(new Option('--bitmap <kind>', 'internal write-intent bitmap, or none (default: internal when each member uses over 100 GiB, as mdadm 4.2)').choices(['internal', 'none']))
    .addOption(new Option('--metadata <version>', 'md superblock version: 1.2 (4K from the start), 1.1 (at the start) or 1.0 (at the end)').choices(['1.0', '1.1', '1.2']).default('1.2'))
    .addOption(new Option('--bitmap-chunk <size>', 'bytes per bitmap bit (mdadm --bitmap-chunk; default as mdadm chooses, at least 64M)').argParser(parseBytes))
    .action(async (members: string[], flags: CreateFlags) => (await create()).raidCreate(members, flags));

  common(raid.command('update').argument('<members...>'), false)
    .description('change how the array survives a crash, like mdadm --grow --consistency-policy')
    .addOption(new Option('--consistency-policy <policy>', 'resync, or ppl (RAID-5: a partial parity log on every member)').choices(['resync', 'ppl']).makeOptionMandatory())
    .action(async (members: string[], flags: ArrayFlags & { consistencyPolicy: 'resync' | 'ppl' }) => (await manage()).raidUpdate(members, flags));
}

/** examine and detail: read-only descriptions of members and the array. */
function registerInspectVerbs(raid: Command): void {
  common(raid.command('examine').argument('<members...>'), false)
    .description("print each member's md superblock, like mdadm --examine")
    .option('--bitmap', "print the member's internal write-intent bitmap instead, like mdadm -X")
    .option('--badblocks', "list the member's bad-block log instead, like mdadm --examine-badblocks")
    .action(async (members: string[], flags: ExamineFlags) => (await inspect()).raidExamine(members, flags));

  common(raid.command('detail').argument('<members...>'), false)
    .description('assemble (read-only) and describe the array, like mdadm --detail')
    .action(async (members: string[], flags: ArrayFlags) => (await inspect()).raidDetail(members, flags));
}

/** read, write and serve: moving array bytes. */
function registerIoVerbs(raid: Command): void {
  engineOptions(common(raid.command('read').argument('<members...>', 'present members; absent ones are rebuilt from parity'), false))
    .description('copy array bytes to a file')
    .requiredOption('-o, --output <file>', "destination file ('-' for stdout)")
    .addOption(new Option('--offset <bytes>', 'array byte offset').argParser(parseOffset).default(0))
    .addOption(new Option('--length <bytes>', 'bytes to read (default: to the end)').argParser(parseOffset))
    .action(async (members: string[], flags: ReadFlags) => (await io()).raidRead(members, flags));

  engineOptions(common(raid.command('write').argument('<members...>'), false))
    .description('copy a file into the array (any offset; unaligned edges are read-modify-written)')
    .requiredOption('-i, --input <file>', 'source file')
    .addOption(new Option('--offset <bytes>', 'array byte offset').argParser(parseOffset).default(0))
    .action(async (members: string[], flags: WriteFlags) => (await io()).raidWrite(members, flags));

  engineOptions(common(raid.command('serve').argument('<members...>', 'present members; absent ones are rebuilt from parity')))
    .description('serve the array over NBD until SIGINT/SIGTERM (default 127.0.0.1:10809)')
    .option('--socket <path>', 'listen on a unix socket')
    .option('--listen <host:port>', 'listen on TCP (anything but loopback must be given explicitly)')
    .option('--export <name>', 'export name (default: the empty name)')
    .action(async (members: string[], flags: ServeFlags) => (await serve()).raidServe(members, flags));
}

/** Maintenance: check, repair, rebuild, fail, remove, add, status. */
function registerManageVerbs(raid: Command): void {
  engineOptions(common(raid.command('check').argument('<members...>'), false))
    .description("verify parity, count mismatched sectors like md's mismatch_cnt (writes nothing)")
    .action(async (members: string[], flags: ArrayFlags) => (await manage()).raidScrub(members, 'check', flags));

  engineOptions(common(raid.command('repair').argument('<members...>'), false))
    .description('verify parity and rewrite P/Q where they disagree with the data')
    .action(async (members: string[], flags: ArrayFlags) => (await manage()).raidScrub(members, 'repair', flags));

  engineOptions(common(raid.command('rebuild').argument('<members...>'), false))
    .description('rebuild members being recovered (or a spare into a missing slot); resumes from the checkpoint')
    .action(async (members: string[], flags: ArrayFlags) => (await manage()).raidRebuild(members, flags));

  common(raid.command('fail').argument('<members...>'), false)
    .description('mark a member faulty (its slot is then rebuilt from parity)')
    .requiredOption('--member <path|slot>', 'the member to fail')
    .action(async (members: string[], flags: ArrayFlags & { member: string }) => (await manage()).raidFail(members, flags.member, flags));

  common(raid.command('remove').argument('<members...>'), false)
    .description('drop a faulty member from the role table')
    .requiredOption('--member <path|slot>', 'the member to remove')
    .action(async (members: string[], flags: ArrayFlags & { member: string }) => (await manage()).raidRemove(members, flags.member, flags));

  engineOptions(common(raid.command('add').argument('<members...>', 'the array members present'), false))
    .description('add a member (created sparse if absent) into a missing slot and rebuild it, or as a spare')
    .requiredOption('--member <path>', 'the new member')
    .option('--no-rebuild', 'only add; run `raid rebuild` later')
    .action(async (members: string[], flags: AddFlags) => (await manage()).raidAdd(members, flags));

  common(raid.command('status').argument('<members...>'), false)
    .description('one-screen state, like /proc/mdstat')
    .action(async (members: string[], flags: ArrayFlags) => (await inspect()).raidStatus(members, flags));
}
