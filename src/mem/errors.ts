/** Errors of the shared arena, in the package's error hierarchy (src/errors.ts). */
import { AsyncTxError, InvalidArgumentError, UsageError } from '../errors.js';

/** No free range of the arena is large enough for the requested block. */
export class ArenaExhaustedError extends AsyncTxError {
  constructor(message: string) {
    super('ASYNCTX_ERR_ARENA_EXHAUSTED', message);
  }
}

/** freeBlock() was given something that is not a live block of this arena (double free, a subarray, a foreign view). */
export class ArenaFreeError extends UsageError {
  constructor(message: string) {
    super('ASYNCTX_ERR_ARENA_BAD_FREE', message);
  }
}

/** A bad arena size (argument or ASYNCTX_ARENA_MB), or a memory that is not an asynctx arena. */
export class ArenaConfigError extends InvalidArgumentError {
  override readonly code = 'ASYNCTX_ERR_ARENA_CONFIG';
}
