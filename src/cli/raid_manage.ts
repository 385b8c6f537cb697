/**
 * The maintenance verbs of `asynctx raid`: check, repair, rebuild, fail,
 * remove, add, update (consistency policy) and status. Each assembles the members given, does one thing,
 * and stops the array (superblocks updated, clean when parity is trusted).
 */
import { realpath } from 'node:fs/promises';
import { InvalidArgumentError } from './commander.js';
import {
  FileMember,
  isNbdUri,
  readSuperblock,
  rebuild,
  scrub,
  RaidUsageError,
  stateWords,
  consistencyPolicy,
  setConsistencyPolicy,
  type RaidArray,
} from '../raid/index.js';
import { exists } from '../raid/member.js';
import { note, openArray, openMember, progress, type ArrayFlags } from './raid_common.js';
import { printJson } from './output.js';
import { resyncIfNeeded } from './raid_io.js';

export async function raidScrub(paths: string[], mode: 'check' | 'repair', flags: ArrayFlags): Promise<void> {
  const { array } = await openArray(paths, { ...flags, readonly: mode === 'check' ? true : flags.readonly });
  try {
    if (mode === 'check' && array.needsResync) note(flags, 'array is dirty (not cleanly stopped): mismatches are expected where writes were in flight; run repair');
    const t0 = Date.now();
    const bar = progress(mode, flags);
    const r = await scrub(array, mode, { progress: (d, t) => bar.update(d, t) });
    bar.end();
    const seconds = (Date.now() - t0) / 1000;
    if (flags.json) {
      printJson({ mismatches: r.mismatches, repaired: mode === 'repair' ? r.mismatches : 0, bytes: r.bytes, seconds, uuid: array.uuid, level: array.geometry.level, dirty: array.dirty });
    } else {
      process.stdout.write(`${mode}: ${r.mismatches} mismatched sectors${mode === 'repair' && r.mismatches ? ' rewritten' : ''} (mismatch_cnt) over ${(r.bytes / 1e6).toFixed(1)} MB per member in ${seconds.toFixed(2)} s\n`);
    }
  } finally {
    await array.stop();
  }
}

export async function raidRebuild(paths: string[], flags: ArrayFlags): Promise<void> {
  const { array } = await openArray(paths, flags);
  try {
    await runRebuild(array, flags);
  } finally {
    await array.stop();
  }
}

async function runRebuild(array: RaidArray, flags: ArrayFlags): Promise<void> {
  await resyncIfNeeded(array, flags);
  const controller = new AbortController();
  const onSignal = () => {
    note(flags, 'interrupted: saving the rebuild checkpoint');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const t0 = Date.now();
  const bar = progress('rebuild', flags);
  try {
    const r = await rebuild(array, { progress: (d, t) => bar.update(d, t), signal: controller.signal });
    bar.end();
    const seconds = (Date.now() - t0) / 1000;
    // skipped: member bytes the write-intent bitmap held in sync (a re-add recovers only the rest).
    if (flags.json) printJson({ rebuilt: r.slots, bytes: r.bytes, skipped: r.skipped, aborted: r.aborted, seconds, state: stateWords(array) });
    else if (r.slots.length === 0) process.stdout.write('rebuild: nothing to rebuild (no member being recovered, no spare for a missing slot)\n');
    else process.stdout.write(`rebuild: slot ${r.slots.join(', ')} ${r.aborted ? 'interrupted (resumes from the checkpoint)' : 'in sync'}; ${(r.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s${r.skipped ? ` (${(r.skipped / 1e6).toFixed(1)} MB of it skipped: in sync by the write-intent bitmap)` : ''}\n`);
    if (r.aborted) process.exitCode = 130;
    else await resyncIfNeeded(array, flags); // a dirty array rebuilt degraded: now its parity
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Finds the slot a --member value names: a slot number, or a member path. */
async function slotOf(array: RaidArray, which: string): Promise<number> {
  if (/^\d+$/.test(which)) return Number(which);
  const want = await realpath(which).catch(() => which);
  for (let i = 0; i < array.slots.length; i++) {
    const name = array.slots[i]!.device?.member.name;
    if (name && (await realpath(name).catch(() => name)) === want) return i;
  }
  return -1;
}

export async function raidFail(paths: string[], which: string, flags: ArrayFlags): Promise<void> {
  const { array } = await openArray(paths, flags);
  try {
    const slot = await slotOf(array, which);
    if (slot < 0) throw new InvalidArgumentError(`--member ${which} is not an active member of this array`);
    await array.fail(slot);
    process.stdout.write(`slot ${slot} marked faulty; array ${stateWords(array)}\n`);
  } finally {
    await array.stop();
  }
}

/** `raid update --consistency-policy`: switches resync and ppl on the assembled array. */
export async function raidUpdate(paths: string[], flags: ArrayFlags & { consistencyPolicy: 'resync' | 'ppl' }): Promise<void> {
  const { array } = await openArray(paths, flags, 'software');
  try {
    await setConsistencyPolicy(array, flags.consistencyPolicy);
    if (flags.json) printJson({ consistencyPolicy: consistencyPolicy(array.table.master.featureMap) });
    else process.stdout.write(`consistency policy: ${consistencyPolicy(array.table.master.featureMap)}\n`);
  } finally {
    await array.stop();
  }
}

export async function raidRemove(paths: string[], which: string, flags: ArrayFlags): Promise<void> {
  const { array } = await openArray(paths, flags);
  try {
    const slot = await slotOf(array, which);
    if (slot >= 0 && array.slots[slot]!.state === 'in_sync') throw new RaidUsageError(`slot ${slot} is in sync: fail it first`);
    if (slot >= 0) await array.remove(slot);
    else await array.updateSuperblocks(); // a member left out at assembly: drop it from the role table
    process.stdout.write(`removed; array ${stateWords(array)}\n`);
  } finally {
    await array.stop();
  }
}

export interface AddFlags extends ArrayFlags {
  member: string;
  rebuild: boolean;
}

export async function raidAdd(paths: string[], flags: AddFlags): Promise<void> {
  const { array } = await openArray(paths, flags);
  try {
    await resyncIfNeeded(array, flags);
    const size = array.slots.find((s) => s.device)?.device?.member.size ?? 0;
    const member = isNbdUri(flags.member) ? await openMember(flags.member, flags) : (await exists(flags.member)) ? await FileMember.open(flags.member) : await FileMember.create(flags.member, size);
    const old = await readSuperblock(member).catch(() => null);
    if (old && old.setUuid.some((b, i) => b !== array.table.master.setUuid[i]) && !flags.force) {
      await member.close();
      throw new RaidUsageError(`${flags.member} holds a superblock of another array (${old.setName}); --force overwrites it`);
    }
    // A member of this array coming back is re-added: with the bitmap, only what changed since it left is rebuilt.
    const slot = await array.add(member, old);
    process.stdout.write(slot >= 0 ? `${flags.member} added in slot ${slot}\n` : `${flags.member} added as a spare\n`);
    if (slot >= 0 && flags.rebuild) await runRebuild(array, flags);
  } finally {
    await array.stop();
  }
}

