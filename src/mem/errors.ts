/**
 * Errors of the shared arena. Plain Error subclasses with a stable `code` for
 * now; they may later be rebased onto the package's common error base.
 */

/** No free range of the arena is large enough for the requested block. */
export class ArenaExhaustedError extends Error {
  readonly code = 'ASYNCTX_ERR_ARENA_EXHAUSTED';
  override name = 'ArenaExhaustedError';
}

/** freeBlock() was given something that is not a live block of this arena (double free, a subarray, a foreign view). */
export class ArenaFreeError extends Error {
  readonly code = 'ASYNCTX_ERR_ARENA_BAD_FREE';
  override name = 'ArenaFreeError';
}

/** A bad arena size (argument or ASYNCTX_ARENA_MB), or a memory that is not an asynctx arena. */
export class ArenaConfigError extends Error {
  readonly code = 'ASYNCTX_ERR_ARENA_CONFIG';
  override name = 'ArenaConfigError';
}
