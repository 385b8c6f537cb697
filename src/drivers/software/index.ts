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
      result = runOp(activeKernels(), desc.op);
    } catch (err) {
      const error = new OperationError(`software engine failed ${desc.op.kind}: ${(err as Error).message}`, { cause: err });
      this.complete(desc, DmaStatus.Error, 0, error);
      return;
    }
    this.complete(desc, DmaStatus.Complete, result);
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
