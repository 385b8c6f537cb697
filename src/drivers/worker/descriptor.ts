/**
 * A worker channel's descriptor and what it fails with. The descriptor carries the slot image
 * prepare encoded, its mapping and the earlier descriptor it runs behind; a slot the worker
 * failed becomes a typed error here, decoding the error text worker.ts writes (protocol.ts,
 * IO_ERROR_CODE, PARENT_FAILED_TEXT). Kept apart from channel.ts, which is the ring's life cycle.
 */
import {
  Channel, DependencyFailedError, HwDescriptor, IoError, isIoOp, OperationError,
  type CompletionHandler, type HwOp, type Mapping,
} from '../../provider.js';
import type { Encoded } from './encode.js';
import { IO_ERROR_CODE, PARENT_FAILED_TEXT } from './protocol.js';
import type { MainRing } from './ring.js';

/** A descriptor with its slot image and mapping, made by prepare. */
export class WorkerDescriptor extends HwDescriptor {
  constructor(
    op: HwOp,
    chan: Channel,
    onComplete: CompletionHandler,
    readonly enc: Encoded,
    /** null: every block is used in place. */
    mapping: Mapping | null,
    /** An earlier descriptor on this channel this one depends on (prepareAfter), or null. */
    readonly after: WorkerDescriptor | null = null,
  ) {
    super(op, chan, onComplete, mapping);
  }
  /** The ring slot counter it was written at (valid once written). */
  counter = 0;
}

/**
 * The error of failed slot `n` of `ring`, which ran `op` on channel `channel`: an IoError naming
 * the target for I/O that failed, a DependencyFailedError for a step its parent's failure
 * skipped, else an OperationError.
 */
export function slotError(ring: MainRing, n: number, channel: string, op: HwOp): Error {
  const text = ring.errorText(n);
  if (text === PARENT_FAILED_TEXT) return parentFailed(channel, op);
  const code = IO_ERROR_CODE.exec(text);
  if (isIoOp(op)) {
    const target = op.targets[ring.failedTransfer(n)] ?? op.targets[0]!;
    const verb = op.kind === 'io_read' ? 'read from' : 'write to';
    const message = code === null ? text : text.slice(code[0].length);
    return new IoError(`${verb} ${target.name} failed (on ${channel}): ${message}`, target, code?.[1]);
  }
  return new OperationError(`${channel}: ${op.kind} failed in the worker: ${text}`);
}

/** The error of a step not run because the step it was chained behind failed (the core runs it again once that one is final). */
export function parentFailed(channel: string, op: HwOp): DependencyFailedError {
  return new DependencyFailedError(`${channel}: ${op.kind} not run: the step it was chained behind on this channel failed`);
}
