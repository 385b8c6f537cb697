/**
 * The consumer API (async_tx): describe memory transfers and transforms, chain
 * them with `depend`, and let the library fit them to the engines there are.
 * These module-level functions run on the default client (software path only);
 * `createClient()` gives a client with engines and the same functions.
 */
import { defaultOps } from './client.js';

export { TxFlags, SumCheck, type SubmitCtl, type Tx, type TxCallback } from './submit.js';
export { DmaStatus } from './constants.js';
export { isComplete } from '../dmaengine/cookie.js';
export type { Offsets } from './validate.js';
export type { PqBlocks } from './pq.js';
export { PQ_MAX_BLOCKS, PQ_MIN_BLOCKS } from './pq.js';
export { IO_MAX_TRANSFERS } from './io.js';
export { fdTarget } from './fd_target.js';
export type { IoTarget } from '../dmaengine/operation.js';
export type { AsyncTxOps, ClientStats } from './client.js';
/**
 * Blocks in the shared arena (the engines' memory): every engine uses them in
 * place, with no copy in or out. Any other Uint8Array works too.
 */
export { allocBlock, freeBlock, isArenaBlock } from '../mem/index.js';
export { ArenaConfigError, ArenaExhaustedError, ArenaFreeError } from '../mem/index.js';
/** The kernel chosen per operation at start-up, with the measured MB/s of each candidate. */
export { kernels } from '../kernels/index.js';

export const {
  asyncMemcpy,
  asyncMemset,
  asyncXor,
  asyncXorVal,
  asyncGenSyndrome,
  asyncSyndromeVal,
  asyncRaid6DatapRecov,
  asyncRaid6TwoDataRecov,
  asyncTriggerCallback,
  asyncIoRead,
  asyncIoWrite,
  asyncTxIssuePendingAll,
  asyncTxAck,
  waitForAsyncTx,
} = defaultOps;
