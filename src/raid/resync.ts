/**
 * Whole-array passes, as md's md_do_sync drives them: check (count
 * mismatches), repair (and rewrite parity), resync (after a crash or at
 * creation) and recovery (rebuild members onto replacements). Each pass walks
 * the members in stripe-head steps, a cache-full of stripes at a time, and
 * records its progress in the superblocks so an interrupted rebuild or resync
 * resumes where it stopped.
 */
import type { RaidArray } from './array.js';
import { ArrayStateError } from './errors.js';
import { syncStripe } from './handle.js';
import type { SyncMode } from './stripe_plan.js';
import { MAX_SECTOR, SECTOR } from './superblock.js';

export interface PassOptions {
  /** Called after each batch with member bytes done and the total. */
  readonly progress?: (done: number, total: number) => void;
  /** Stops the pass after the current batch; its progress is kept (checkpoint). */
  readonly signal?: AbortSignal;
  /** Member bytes between superblock checkpoints (default 64 MiB, and at least every 5%). */
  readonly checkpointBytes?: number;
}

export interface PassResult {
  /** Mismatched sectors found (md's mismatch_cnt; check, repair, resync). */
  readonly mismatches: number;
  /** Member bytes covered by this run. */
  readonly bytes: number;
  /** Stopped by the signal before the end. */
  readonly aborted: boolean;
  /** Member sectors (from data_offset) the pass reached. */
  readonly reached: number;
  /** Member bytes of the range left alone because the write-intent bitmap says they are in sync. */
  readonly skipped: number;
}

/** Runs `mode` over member sectors [start, end) in batches; `onBatch` gets the first sector not yet done. */
async function walk(
  array: RaidArray,
  mode: SyncMode,
  start: number,
  opts: PassOptions,
  onBatch: (reached: number, sinceCheckpoint: number) => Promise<boolean>,
  skip?: (sector: number, endSector: number) => boolean,
): Promise<PassResult> {
  const end = array.componentSectors;
  const unitSectors = array.unit / SECTOR;
  const batch = Math.max(1, array.cache.capacity);
  let pos = Math.floor(start / unitSectors) * unitSectors;
  const first = pos;
  let mismatches = 0;
  let skipped = 0;
  let sinceCheckpoint = 0;
  const total = end * SECTOR;
  while (pos < end) {
    if (opts.signal?.aborted) return { mismatches, bytes: (pos - first) * SECTOR, aborted: true, reached: pos, skipped };
    const jobs: Promise<number>[] = [];
    let next = pos;
    for (let i = 0; i < batch && next < end; i++, next += unitSectors) {
      const sector = next;
      if (skip?.(sector, Math.min(end, sector + unitSectors))) {
        skipped += Math.min(end - sector, unitSectors) * SECTOR;
        continue;
      }
      jobs.push(
        (async () => {
          const sh = await array.cache.acquire(sector);
          try {
            return await syncStripe(array.env, sh, 0, array.unit, mode);
          } finally {
            array.cache.release(sh);
          }
        })(),
      );
    }
    for (const n of await Promise.all(jobs)) mismatches += n;
    await array.settleBadBlocks();
    sinceCheckpoint += (next - pos) * SECTOR;
    pos = next;
    if (await onBatch(pos, sinceCheckpoint)) sinceCheckpoint = 0;
    opts.progress?.(pos * SECTOR, total);
  }
  return { mismatches, bytes: (pos - first) * SECTOR, aborted: false, reached: pos, skipped };
}

/** md's bitmap-guided sync: stripes of chunks the bitmap does not hold as needing it are skipped. */
function bitmapSkip(array: RaidArray): ((sector: number, end: number) => boolean) | undefined {
  const intent = array.intent;
  return intent ? (sector, end) => !intent.neededIn(sector, end) : undefined;
}

function checkpointDue(array: RaidArray, opts: PassOptions, since: number): boolean {
  const every = Math.min(opts.checkpointBytes ?? 64 << 20, Math.max(array.unit, Math.floor((array.componentSectors * SECTOR) / 20)));
  return since >= every;
}

/**
 * check (count only) or repair (also rewrite P/Q where they disagree) over the whole array.
 * @throws ArrayStateError when a member is missing or not in sync (nothing to compare against).
 */
export async function scrub(array: RaidArray, mode: 'check' | 'repair', opts: PassOptions = {}): Promise<PassResult> {
  if (array.table.degradedCount() > 0) {
    throw new ArrayStateError(`array is degraded: ${mode} needs every member in sync (rebuild first)`);
  }
  if (mode === 'repair' && array.readonly) throw new ArrayStateError('the array is read-only');
  await array.drain();
  const r = await walk(array, mode, 0, opts, async () => false);
  if (mode === 'repair') array.intent?.markSynced(0, r.reached);
  if (mode === 'repair' && !r.aborted && array.needsResync) {
    array.needsResync = false;
    await array.markClean();
  }
  return r;
}

/**
 * Resync: makes parity agree with the data everywhere from the recorded
 * resync offset (after a crash, or after create without --assume-clean),
 * checkpointing the offset while no writes run, then marks the array clean.
 */
export async function resync(array: RaidArray, opts: PassOptions = {}): Promise<PassResult> {
  if (array.readonly) throw new ArrayStateError('the array is read-only');
  if (array.table.degradedCount() > 0) {
    throw new ArrayStateError('array is degraded: parity cannot be resynced (rebuild first)');
  }
  const recorded = array.table.master.resyncOffset;
  const start = recorded === MAX_SECTOR ? 0 : Math.min(recorded, array.componentSectors);
  array.needsResync = true;
  const writesBefore = array.writesDone;
  const r = await walk(array, 'resync', start, opts, async (reached, since) => {
    // Record progress only while no write ran: a write marks the array active, and md keeps 0 then.
    if (!checkpointDue(array, opts, since) || array.writesDone !== writesBefore) return false;
    await array.updateSuperblocks((m) => (m.resyncOffset = reached));
    return true;
  }, bitmapSkip(array));
  array.intent?.markSynced(start, r.reached);
  if (r.aborted) {
    if (array.writesDone === writesBefore) await array.updateSuperblocks((m) => (m.resyncOffset = r.reached));
    return r;
  }
  array.needsResync = false;
  await array.markClean();
  return r;
}

/**
 * Recovery: rebuilds every slot being recovered (activating a spare into a
 * missing slot first), checkpointing each slot's recovery_offset, then marks
 * those members in sync.
 * @returns the slots rebuilt, with the pass result.
 */
export async function rebuild(array: RaidArray, opts: PassOptions = {}): Promise<PassResult & { slots: number[] }> {
  if (array.readonly) throw new ArrayStateError('the array is read-only');
  const joined = array.activateSpare();
  if (joined >= 0) await array.intent?.writeAllTo(array.slots[joined]!.device!);
  const slots = array.slots.map((s, i) => (s.state === 'recovering' ? i : -1)).filter((i) => i >= 0);
  if (slots.length === 0) return { mismatches: 0, bytes: 0, aborted: false, reached: array.componentSectors, skipped: 0, slots };
  // md: recovery follows the bitmap only when every member being recovered was re-added with it (else conf->fullsync).
  const guided = slots.every((i) => array.slots[i]!.bitmapSync === true);
  await array.updateSuperblocks(); // record the roles and recovery offsets before writing data
  const start = Math.min(...slots.map((i) => array.slots[i]!.recoveryOffset));
  const advance = (reached: number) => {
    for (const i of slots) {
      const s = array.slots[i]!;
      if (s.state === 'recovering') s.recoveryOffset = Math.max(s.recoveryOffset, reached);
    }
  };
  const r = await walk(array, 'recover', start, opts, async (reached, since) => {
    advance(reached);
    if (!checkpointDue(array, opts, since)) return false;
    await array.updateSuperblocks();
    return true;
  }, guided ? bitmapSkip(array) : undefined);
  advance(r.reached);
  // Not still degraded (every slot has a working member): what was recovered no longer needs its bits.
  if (array.table.failedCount() === 0) array.intent?.markSynced(start, r.reached);
  if (!r.aborted) {
    for (const i of slots) {
      const s = array.slots[i]!;
      if (s.state === 'recovering') {
        s.state = 'in_sync';
        s.recoveryOffset = 0;
        s.bitmapSync = false;
      }
    }
  }
  array.cache.invalidateAll();
  await array.updateSuperblocks();
  const failed = slots.filter((i) => array.slots[i]!.state !== 'in_sync');
  if (!r.aborted && failed.length) throw new ArrayStateError(`rebuild of slot ${failed.join(', ')} failed (member faulty)`);
  return { ...r, slots };
}
