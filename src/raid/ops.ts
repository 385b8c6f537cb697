/**
 * The slice of the consumer API the RAID client runs its parity work on. The
 * module namespace of '../async_tx/index.js' (software path) and any client
 * from createClient() (worker engines) both fit, so an array runs on either.
 * src/raid imports the consumer API only, never dmaengine/, drivers/,
 * kernels/ or sched/ (test/raid/layering.test.ts holds it to that).
 * The software path itself is default_ops.ts, loaded by assemble and create
 * only when they are given no ops: this module names the constants from
 * their own small module (async_tx/constants.ts), so an array that only
 * reports (raid status) loads no part of the submit path or the kernels.
 */
import type { AsyncTxOps } from '../async_tx/index.js';

export type RaidOps = Pick<
  AsyncTxOps,
  | 'asyncMemcpy'
  | 'asyncXor'
  | 'asyncXorVal'
  | 'asyncGenSyndrome'
  | 'asyncSyndromeVal'
  | 'asyncRaid6DatapRecov'
  | 'asyncRaid6TwoDataRecov'
  | 'asyncTxIssuePendingAll'
  | 'waitForAsyncTx'
> &
  /** Member I/O as chain steps; without them members are read and written by the array's own queues. */
  Partial<Pick<AsyncTxOps, 'asyncIoRead' | 'asyncIoWrite'>> & {
  /** Allocates a stripe buffer where every engine can use it in place (the shared arena), when offered. */
  allocBlock?(len: number): Uint8Array;
  /** Gives back a block from allocBlock. */
  freeBlock?(block: Uint8Array): void;
  /** Ends the client's engines (an array that owns its ops calls it on stop). */
  close?(): Promise<void>;
};

export { DmaStatus, TxFlags, SumCheck } from '../async_tx/constants.js';
export type { Tx } from '../async_tx/index.js';
export { IoError } from '../errors.js';

/** The ops given, or the software path's (default_ops.ts, loaded now: the first array without ops pays for it). */
export async function opsOrDefault(ops: RaidOps | undefined): Promise<RaidOps> {
  return ops ?? (await import('./default_ops.js')).defaultRaidOps;
}

/**
 * Ops for an array that is assembled only to be reported on (status, detail):
 * it runs no parity work, so none is loaded; a call is a bug and says so.
 * @internal
 */
export const reportOnlyOps: RaidOps = Object.fromEntries(
  (['asyncMemcpy', 'asyncXor', 'asyncXorVal', 'asyncGenSyndrome', 'asyncSyndromeVal', 'asyncRaid6DatapRecov', 'asyncRaid6TwoDataRecov', 'asyncTxIssuePendingAll', 'waitForAsyncTx'] as const).map(
    (name) => [name, () => {
      throw new Error(`internal: ${name} called on an array assembled only to report on`);
    }],
  ),
) as unknown as RaidOps;

/** A stripe buffer from `ops` (arena when it offers one), else an ordinary one. */
export function allocStripeBuffer(ops: RaidOps, len: number): Uint8Array {
  if (typeof ops.allocBlock === 'function') {
    try {
      return ops.allocBlock(len);
    } catch {
      // Arena full: an ordinary buffer still works everywhere (bounced by the engines).
    }
  }
  return new Uint8Array(len);
}

/** Gives back a buffer from allocStripeBuffer (arena blocks return to the arena). */
export function freeStripeBuffer(ops: RaidOps, buf: Uint8Array): void {
  if (typeof ops.freeBlock !== 'function') return;
  try {
    ops.freeBlock(buf);
  } catch {
    // Not an arena block (allocBlock had failed), or the client is closed: nothing to give back.
  }
}
