/**
 * Errors of the RAID client. Every condition has a stable `code`
 * (`ASYNCTX_ERR_RAID_*`) so scripts and callers branch on it, never on the
 * message. They share the project's base class, so `instanceof AsyncTxError`
 * catches them together with the consumer API's errors.
 */
import { AsyncTxError } from '../errors.js';

/** Base of every RAID error. */
export class RaidError extends AsyncTxError {}

/** An option or argument is invalid (level, layout, chunk, member count, offsets…). Nothing was written. */
export class RaidUsageError extends RaidError {
  constructor(message: string) {
    super('ASYNCTX_ERR_RAID_USAGE', message);
  }
}

/** A member holds no md superblock, or one that fails its checksum or sanity checks. */
export class SuperblockError extends RaidError {
  constructor(message: string) {
    super('ASYNCTX_ERR_RAID_SUPERBLOCK', message);
  }
}

/** The superblock uses a feature this client does not implement (bitmap, journal, PPL, reshape…). */
export class UnsupportedFeatureError extends RaidError {
  /** The features found, by md's names. */
  readonly features: readonly string[];
  constructor(message: string, features: readonly string[]) {
    super('ASYNCTX_ERR_RAID_UNSUPPORTED', message);
    this.features = features;
  }
}

/** The members given cannot be assembled into one array (mixed arrays, duplicates, too many missing). */
export class AssemblyError extends RaidError {
  constructor(message: string) {
    super('ASYNCTX_ERR_RAID_ASSEMBLY', message);
  }
}

/** A member's read or write failed; the member is marked faulty. */
export class MemberIOError extends RaidError {
  /** The RAID slot of the member, or -1 when not in a slot. */
  readonly slot: number;
  constructor(message: string, slot: number, options?: { cause?: unknown }) {
    super('ASYNCTX_ERR_RAID_MEMBER_IO', message, options);
    this.slot = slot;
  }
}

/** Too many members have failed: the data asked for cannot be read or written. */
export class ArrayFailedError extends RaidError {
  constructor(message: string) {
    super('ASYNCTX_ERR_RAID_FAILED', message);
  }
}

/**
 * A range of the array cannot be read: with the members' bad blocks there (and the members
 * failed), fewer members than the data needs hold it (md answers EIO; the array goes on).
 */
export class UnreadableRangeError extends RaidError {
  constructor(message: string) {
    super('ASYNCTX_ERR_RAID_EIO', message);
  }
}

/** The array (or the operation) was stopped, or the array is read-only. */
export class ArrayStateError extends RaidError {
  constructor(message: string) {
    super('ASYNCTX_ERR_RAID_STATE', message);
  }
}

/**
 * The first `max` items joined with ", ", and how many more there were: an
 * error about a million missing slots stays one readable line.
 */
export function listSome(items: readonly (string | number)[], max = 8): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}
