/**
 * Clients: the consumer API bound to one context. The module-level functions
 * use a default client that has only the software path; `createClient` makes
 * one that owns engines and is closed with `close()`.
 */
import { DmaStatus, type IoTarget } from '../dmaengine/index.js';
import { DependencyMisuseError, InvalidArgumentError } from '../errors.js';
import { TxContext, type OpStats } from './context.js';
import { memcpy } from './memcpy.js';
import { memset } from './memset.js';
import { ioRead, ioWrite } from './io.js';
import { genSyndrome, syndromeVal, type PqBlocks } from './pq.js';
import { raid6DatapRecov, raid6TwoDataRecov } from './raid6_recov.js';
import { TxDescriptor, type SubmitCtl, type Tx } from './submit.js';
import { triggerCallback } from './trigger_callback.js';
import { describe, type Offsets } from './validate.js';
import { xor, xorVal } from './xor.js';

/** The operations every client offers; the module exports the same functions. */
export interface AsyncTxOps {
  asyncMemcpy(dest: Uint8Array, src: Uint8Array, destOffset: number, srcOffset: number, len: number, submit?: SubmitCtl): Tx;
  asyncMemset(dest: Uint8Array, value: number, offset: number, len: number, submit?: SubmitCtl): Tx;
  asyncXor(dest: Uint8Array, srcs: ReadonlyArray<Uint8Array | null>, offset: Offsets, len: number, submit?: SubmitCtl): Tx;
  asyncXorVal(dest: Uint8Array, srcs: ReadonlyArray<Uint8Array | null>, offset: Offsets, len: number, submit?: SubmitCtl): Tx;
  asyncGenSyndrome(blocks: PqBlocks, offset: Offsets, len: number, submit?: SubmitCtl): Tx;
  asyncSyndromeVal(blocks: PqBlocks, offset: Offsets, len: number, submit?: SubmitCtl): Tx;
  asyncRaid6DatapRecov(blocks: PqBlocks, faila: number, offset: Offsets, len: number, submit?: SubmitCtl): Tx;
  asyncRaid6TwoDataRecov(blocks: PqBlocks, faila: number, failb: number, offset: Offsets, len: number, submit?: SubmitCtl): Tx;
  asyncTriggerCallback(submit?: SubmitCtl): Tx;
  /** Reads `len` bytes at positions[i] of targets[i] into buffers[i][offset…] (never synchronous). */
  asyncIoRead(buffers: readonly Uint8Array[], targets: readonly IoTarget[], positions: readonly number[], offset: Offsets, len: number, submit?: SubmitCtl): Tx;
  /** Writes buffers[i][offset…offset+len) at positions[i] of targets[i] (never synchronous). */
  asyncIoWrite(buffers: readonly Uint8Array[], targets: readonly IoTarget[], positions: readonly number[], offset: Offsets, len: number, submit?: SubmitCtl): Tx;
  /** Rings every channel's doorbell: queued operations start. */
  asyncTxIssuePendingAll(): void;
  /** Acknowledges a descriptor: it will not be used as a parent. */
  asyncTxAck(tx: Tx): void;
  /**
   * Issues what `tx` needs and resolves with it once it completed;
   * rejects with `tx.error` if it ended in error.
   */
  waitForAsyncTx(tx: Tx): Promise<Tx>;
}

/** Counters of a client, per operation. */
export interface ClientStats {
  pending: number;
  ops: Record<string, OpStats>;
}

function ownDescriptor(ctx: TxContext, fn: string, tx: unknown): TxDescriptor {
  if (!(tx instanceof TxDescriptor)) throw new InvalidArgumentError(`${fn}: expected a descriptor returned by asynctx, got ${describe(tx)}`);
  if (tx.ctx !== ctx) throw new DependencyMisuseError(`${fn}: the descriptor belongs to another client`);
  return tx;
}

/** Binds the consumer API to a context. */
export function bindOps(ctx: TxContext): AsyncTxOps {
  return {
    asyncMemcpy: (dest, src, destOffset, srcOffset, len, submit) => memcpy(ctx, dest, src, destOffset, srcOffset, len, submit),
    asyncMemset: (dest, value, offset, len, submit) => memset(ctx, dest, value, offset, len, submit),
    asyncXor: (dest, srcs, offset, len, submit) => xor(ctx, dest, srcs, offset, len, submit),
    asyncXorVal: (dest, srcs, offset, len, submit) => xorVal(ctx, dest, srcs, offset, len, submit),
    asyncGenSyndrome: (blocks, offset, len, submit) => genSyndrome(ctx, blocks, offset, len, submit),
    asyncSyndromeVal: (blocks, offset, len, submit) => syndromeVal(ctx, blocks, offset, len, submit),
    asyncRaid6DatapRecov: (blocks, faila, offset, len, submit) => raid6DatapRecov(ctx, blocks, faila, offset, len, submit),
    asyncRaid6TwoDataRecov: (blocks, faila, failb, offset, len, submit) => raid6TwoDataRecov(ctx, blocks, faila, failb, offset, len, submit),
    asyncTriggerCallback: (submit) => triggerCallback(ctx, submit),
    asyncIoRead: (buffers, targets, positions, offset, len, submit) => ioRead(ctx, buffers, targets, positions, offset, len, submit),
    asyncIoWrite: (buffers, targets, positions, offset, len, submit) => ioWrite(ctx, buffers, targets, positions, offset, len, submit),
    asyncTxIssuePendingAll: () => ctx.issuePendingAll(),
    asyncTxAck: (tx) => {
      ownDescriptor(ctx, 'asyncTxAck', tx).acked = true;
    },
    waitForAsyncTx: async (tx) => {
      const d = ownDescriptor(ctx, 'waitForAsyncTx', tx);
      if (d.status === DmaStatus.InProgress) {
        ctx.issuePendingAll();
        await d.whenDone();
      }
      if (d.status === DmaStatus.Error) throw d.error;
      return d;
    },
  };
}

/** The context behind the module-level functions: software path only, never closed. */
export const defaultContext = new TxContext('default');
export const defaultOps: AsyncTxOps = bindOps(defaultContext);

/** Counters of a context, as plain data. */
export function contextStats(ctx: TxContext): ClientStats {
  return { pending: ctx.pending, ops: Object.fromEntries([...ctx.opStats].map(([k, v]) => [k, { ...v }])) };
}
