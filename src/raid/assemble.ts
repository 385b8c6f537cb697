/**
 * Assembly: from members given in any order to a running array, by their
 * superblocks (mdadm --assemble, md's super_1_validate). Everything is checked
 * before anything is written: foreign or corrupt superblocks, members of
 * different arrays, features we do not implement, stale members (by event
 * count), duplicates, and too many members missing.
 */
import { RaidArray, type RaidArrayOptions } from './array.js';
import { BadBlockSet } from './badblock_set.js';
import { readMemberBadBlocks } from './member_logs.js';
import { AssemblyError, listSome, SuperblockError, UnsupportedFeatureError } from './errors.js';
import { parityDisks } from './layout.js';
import type { Member } from './member.js';
import { MemberTable, type MemberDevice } from './member_table.js';
import { hasPpl, validatePplArea } from './ppl.js';
import { startPpl } from './ppl_recover.js';
import { opsOrDefault } from './ops.js';
import { loadWriteIntent } from './write_intent.js';
import {
  decodeSuperblock,
  Feature,
  featureNames,
  formatUuid,
  MAX_SECTOR,
  ownRole,
  ROLE_FAULTY,
  ROLE_SPARE,
  SB_READ_BYTES,
  SECTOR,
  superOffsetFor,
  type Superblock,
} from './superblock.js';

/** Features a read-only assembly may ignore: they only help md write safely. */
const READ_SAFE = Feature.Ppl | Feature.MultiplePpls;
/**
 * Features this client implements (PPL: RAID-5 only, checked below; the internal write-intent
 * bitmap is kept as md keeps it: write_intent.ts; bad-block logs are loaded and kept: badblock_set.ts).
 */
const SUPPORTED = Feature.RecoveryOffset | Feature.Ppl | Feature.MultiplePpls | Feature.BitmapOffset | Feature.RecoveryBitmap | Feature.BadBlocks;

/**
 * Reads a member's md v1 superblock: 1.2 (4 KiB in), 1.1 (start) and 1.0 (end)
 * are tried; when more than one is valid the newest (ctime) wins, as mdadm does.
 * @throws SuperblockError naming the member when none is valid.
 */
export async function readSuperblock(member: Member): Promise<Superblock> {
  const sectors = Math.floor(member.size / SECTOR);
  if (sectors < 24) throw new SuperblockError(`${member.name}: too small for md (${sectors} sectors)`);
  let best: Superblock | null = null;
  const reasons: string[] = [];
  for (const minor of [2, 1, 0] as const) {
    const at = superOffsetFor(minor, sectors) * SECTOR;
    const buf = new Uint8Array(Math.min(SB_READ_BYTES, member.size - at));
    try {
      await member.read(buf, at);
      const sb = decodeSuperblock(buf, minor, sectors);
      if (!best || sb.ctime > best.ctime) best = sb;
    } catch (err) {
      reasons.push(`1.${minor}: ${(err as Error).message}`);
    }
  }
  if (!best) {
    const magicMissing = reasons.every((r) => r.includes('no md superblock'));
    throw new SuperblockError(
      magicMissing ? `${member.name}: no md superblock found` : `${member.name}: no valid md superblock (${reasons.join('; ')})`,
    );
  }
  return best;
}

export interface AssembleOptions extends RaidArrayOptions {
  /** Start a dirty degraded array anyway (mdadm --force): parity of stripes in flight at the crash may be wrong. */
  readonly force?: boolean;
}

export interface Assembled {
  readonly array: RaidArray;
  /** What assembly noticed and worked around (stale or faulty members left out, a resync due…). */
  readonly warnings: string[];
}

/**
 * Assembles `members` (any order) into an array.
 * @throws SuperblockError, UnsupportedFeatureError, AssemblyError — before any write.
 */
export async function assemble(members: readonly Member[], opts: AssembleOptions = {}): Promise<Assembled> {
  if (members.length === 0) throw new AssemblyError('no members given');
  const sbs: Superblock[] = [];
  for (const m of members) sbs.push(await readSuperblock(m));
  const warnings: string[] = [];
  checkSameArray(members, sbs);
  checkFeatures(sbs, opts, warnings);
  checkPpl(members, sbs);
  const freshest = sbs.reduce((a, b) => (b.events > a.events ? b : a));
  const master: Superblock = { ...freshest, devRoles: [...freshest.devRoles] };
  const table = new MemberTable(master, sbs[0]!.raidDisks);
  placeMembers(table, members, sbs, freshest, warnings);
  checkStartable(table, freshest, opts, warnings);
  await loadBadBlocks(table, warnings);
  const array = new RaidArray(table, { ...opts, ops: await opsOrDefault(opts.ops) });
  if (array.ppl) {
    await startPpl(array, warnings);
    if (array.needsResync) warnings.push('array was not cleanly stopped and the PPL did not cover it: parity must be resynced before it is trusted');
  }
  // Read (and checked) before anything is written: the array's first write keeps it.
  if (master.featureMap & Feature.BitmapOffset) {
    await array.keepBitmap(loadWriteIntent).catch((err: unknown) => {
      array.cache.dispose();
      throw err;
    });
  }
  for (const w of warnings) array.log(w);
  return { array, warnings };
}

/** md's super_1_load: each device's bad-block log into memory (reads of listed ranges are served from parity). */
async function loadBadBlocks(table: MemberTable, warnings: string[]): Promise<void> {
  const devices = [...table.slots.map((s) => s.device), ...table.spares].filter((d): d is MemberDevice => d !== null);
  for (const dev of devices) {
    let list;
    try {
      list = await readMemberBadBlocks(dev.member, dev.sb);
    } catch (err) {
      throw new SuperblockError(`${dev.member.name}: bad-block log: ${(err as Error).message}`);
    }
    dev.badBlocks = BadBlockSet.forSuperblock(dev.sb, list);
    if (list.length) warnings.push(`${dev.member.name} lists ${list.length} bad block range${list.length > 1 ? 's' : ''}: reads there are served from parity`);
  }
}

/** Every member is of one array: one uuid, one geometry and creation time. */
function checkSameArray(members: readonly Member[], sbs: readonly Superblock[]): void {
  const uuids = new Map<string, string[]>();
  sbs.forEach((sb, i) => {
    const u = formatUuid(sb.setUuid);
    uuids.set(u, [...(uuids.get(u) ?? []), members[i]!.name]);
  });
  if (uuids.size > 1) {
    const list = listSome([...uuids].map(([u, names]) => `${u} (${listSome(names)})`), 4);
    throw new AssemblyError(`members belong to different arrays: ${list}`);
  }
  const first = sbs[0]!;
  sbs.forEach((sb, i) => {
    const same = sb.ctime === first.ctime && sb.level === first.level && sb.layout === first.layout && sb.size === first.size && sb.chunkSize === first.chunkSize && sb.raidDisks === first.raidDisks;
    if (!same) throw new AssemblyError(`${members[i]!.name} has the array's uuid but a different geometry or creation time`);
  });
}

/** Features and level asynctx implements; features it only reads are let through read-only, with a warning. */
function checkFeatures(sbs: readonly Superblock[], opts: AssembleOptions, warnings: string[]): void {
  const features = sbs.reduce((f, sb) => f | sb.featureMap, 0);
  const unsupported = features & ~SUPPORTED;
  if (unsupported) {
    const names = featureNames(unsupported);
    if (!(opts.readonly && (unsupported & ~READ_SAFE) === 0)) {
      throw new UnsupportedFeatureError(
        `array uses ${names.join(', ')}, which asynctx does not implement${(unsupported & ~READ_SAFE) === 0 ? ' (--readonly can still read it)' : ''}; nothing was written`,
        names,
      );
    }
    warnings.push(`ignoring ${names.join(', ')} (read-only)`);
  }
  const level = sbs[0]!.level;
  if (level !== 4 && level !== 5 && level !== 6) {
    throw new UnsupportedFeatureError(`RAID level ${level} is not supported (4, 5 and 6 are); nothing was written`, [`level ${level}`]);
  }
}

/** Puts each member in its slot (or among the spares) by the freshest superblock's roles; stale and faulty ones are left out. */
function placeMembers(table: MemberTable, members: readonly Member[], sbs: readonly Superblock[], freshest: Superblock, warnings: string[]): void {
  const first = sbs[0]!;
  const seenDev = new Map<number, string>();
  sbs.forEach((sb, i) => {
    const member = members[i]!;
    if (seenDev.has(sb.devNumber)) {
      throw new AssemblyError(`${member.name} and ${seenDev.get(sb.devNumber)} claim the same device number ${sb.devNumber} (the same member given twice, or a copy?)`);
    }
    seenDev.set(sb.devNumber, member.name);
    const role = sb.devNumber < freshest.maxDev ? freshest.devRoles[sb.devNumber]! : ROLE_FAULTY;
    // md accepts a member one event behind: a crash can land between two superblock writes.
    if (sb.events + 1 < freshest.events) {
      warnings.push(`${member.name} is stale (events ${sb.events} < ${freshest.events}); left out`);
      return;
    }
    if (role === ROLE_FAULTY) {
      warnings.push(`${member.name} is marked faulty in the array; left out`);
      return;
    }
    const dev: MemberDevice = { member, sb };
    if (role === ROLE_SPARE || role >= first.raidDisks) {
      if (ownRole(sb) !== ROLE_SPARE && sb.events < freshest.events) {
        warnings.push(`${member.name} was removed from slot ${ownRole(sb)} (events ${sb.events}); left out`);
        return;
      }
      table.spares.push(dev);
      return;
    }
    const slot = table.slots[role]!;
    if (slot.device) throw new AssemblyError(`${member.name} and ${slot.device.member.name} both claim slot ${role}`);
    slot.device = dev;
    if (sb.featureMap & Feature.RecoveryOffset) {
      slot.state = 'recovering';
      slot.recoveryOffset = Math.min(sb.recoveryOffset, first.size);
      slot.bitmapSync = (sb.featureMap & Feature.RecoveryBitmap) !== 0 && (table.master.featureMap & Feature.BitmapOffset) !== 0;
    } else {
      slot.state = 'in_sync';
    }
  });
}

/**
 * Whether the array may start as md would: not more members out than parity covers, and not
 * dirty and degraded at once unless forced (or a PPL mends it).
 */
function checkStartable(table: MemberTable, freshest: Superblock, opts: AssembleOptions, warnings: string[]): void {
  const level = table.master.level;
  const maxDeg = parityDisks(level);
  const missing = table.slots.map((s, i) => (s.state === 'missing' ? i : -1)).filter((i) => i >= 0);
  const degraded = table.degradedCount();
  if (degraded > maxDeg) {
    throw new AssemblyError(
      `too many members missing or not in sync for RAID-${level} (${degraded} of ${table.slots.length}; at most ${maxDeg})` +
        (missing.length ? `: slots ${listSome(missing)} missing` : ''),
    );
  }
  if (missing.length) warnings.push(`degraded: slot${missing.length > 1 ? 's' : ''} ${listSome(missing)} missing`);
  const dirty = freshest.resyncOffset !== MAX_SECTOR;
  // With a PPL md starts a dirty degraded array: the log mends the stripes written at the crash.
  const logged = hasPpl(freshest) && !opts.readonly;
  if (dirty && degraded > 0 && !opts.force && !opts.readonly && !logged) {
    throw new AssemblyError(
      'array is dirty (not cleanly stopped) and degraded: parity of stripes written at the crash cannot be trusted (md refuses to start it); --force starts it anyway',
    );
  }
  if (dirty && !logged) warnings.push('array was not cleanly stopped: parity must be resynced before it is trusted');
}

/**
 * md's rules for a PPL array (super_1_validate, ppl_init_log): RAID-5 only,
 * and each member's area sound (not with a bitmap or a journal, room for a
 * header, clear of data and superblock).
 * @throws AssemblyError or SuperblockError before anything is written.
 */
function checkPpl(members: readonly Member[], sbs: readonly Superblock[]): void {
  sbs.forEach((sb, i) => {
    if (!hasPpl(sb)) return;
    if (sb.level !== 5) throw new AssemblyError(`${members[i]!.name} records a PPL on a RAID-${sb.level} array (md supports PPL on RAID-5 only); nothing was written`);
    try {
      validatePplArea(sb, Math.floor(members[i]!.size / SECTOR));
    } catch (err) {
      throw new SuperblockError(`${members[i]!.name}: ${(err as Error).message}`);
    }
  });
}
