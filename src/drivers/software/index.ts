/**
 * The software device: the fastest kernel run inline on the caller's thread.
 * It is the lowest-priority engine and the synchronous path's channel, so
 * synchronous descriptors get cookies like any other.
 */
import {
  activeKernels,
  Channel,
  DmaStatus,
  isIoOp,
  KERNEL_CAPABILITIES,
  nextCookie,
  OperationError,
  runOp,
  type Device,
  type HwDescriptor,
  type HwOp,
} from '../../provider.js';

export class SoftwareChannel extends Channel {
  /** Every kernel operation; I/O goes to the host I/O device. */
  accepts(op: HwOp): boolean {
    return !isIoOp(op);
  }

  /** Runs at once: the software path has no queue to wait in. */
  protected enqueue(desc: HwDescriptor): void {
    let result = 0;
    try {
      result = this.run(desc.op);
    } catch (err) {
      this.complete(desc, DmaStatus.Error, 0, err as Error);
      return;
    }
    this.complete(desc, DmaStatus.Complete, result);
  }

  /**
   * The core's synchronous fast path: runs `op` now with no descriptor, as prepare and
   * submit would (it takes the next cookie, read from `lastUsed`, and is complete on return).
   * Returns the result bits; a failure is thrown as the OperationError a descriptor carries.
   */
  runNow(op: HwOp): number {
    const cookie = (this.lastUsed = nextCookie(this.lastUsed));
    try {
      return this.run(op);
    } finally {
      this.lastComplete = cookie;
    }
  }

  private run(op: HwOp): number {
    try {
      return runOp(activeKernels(), op);
    } catch (err) {
      throw new OperationError(`software engine failed ${op.kind}: ${(err as Error).message}`, { cause: err });
    }
  }

  issuePending(): void {}
}

export class SoftwareDevice implements Device {
  readonly name = 'software';
  readonly capabilities = KERNEL_CAPABILITIES;
  readonly limits = { maxSources: 255, alignment: 1 };
  readonly channels: readonly SoftwareChannel[];
  constructor() {
    this.channels = [new SoftwareChannel(this, 0)];
  }
  async close(): Promise<void> {}
}
