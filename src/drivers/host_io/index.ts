/**
 * The host I/O device: the main thread's path for I/O steps (io_read,
 * io_write), as the software device is for kernels. It starts every transfer
 * of a descriptor at once through the target's own read/write (libuv's
 * thread pool for files, a socket for NBD), so a descriptor's transfers and
 * several descriptors run concurrently — the queue depth a device needs —
 * while completions still reach the core in submission order (dmaengine's
 * rule). Every target is reachable here, whatever its fd.
 */
import { Capability, Channel, DmaStatus, IoError, isIoOp, type Device, type HwDescriptor, type HwOp, type IoTarget } from '../../provider.js';

/** One descriptor's transfers in flight. */
interface Running {
  readonly desc: HwDescriptor;
  left: number;
  error: IoError | null;
}

export class HostIoChannel extends Channel {
  /** Submitted and not yet completed, in submission order. */
  private readonly running: Running[] = [];

  accepts(op: HwOp): boolean {
    return isIoOp(op);
  }

  /** Starts at once: the transfers are asynchronous, so nothing waits for a doorbell. */
  protected enqueue(desc: HwDescriptor): void {
    const op = desc.op;
    if (!isIoOp(op)) throw new TypeError(`${this.name}: ${op.kind} is not an I/O operation`);
    const r: Running = { desc, left: op.blocks.length, error: null };
    this.running.push(r);
    for (let i = 0; i < op.blocks.length; i++) {
      const target = op.targets[i]!;
      const done = (err: Error | null): void => this.transferDone(r, target, err);
      try {
        if (op.kind === 'io_read') target.read(op.blocks[i]!, op.positions[i]!, done);
        else target.write(op.blocks[i]!, op.positions[i]!, done);
      } catch (err) {
        // A target that throws instead of calling back still ends this transfer, once.
        queueMicrotask(() => done(err as Error));
      }
    }
  }

  private transferDone(r: Running, target: IoTarget, err: Error | null): void {
    if (err !== null && r.error === null) r.error = ioErrorOf(r.desc.op.kind, target, err);
    if (--r.left > 0) return;
    // In order: a descriptor completes only after every one submitted before it.
    while (this.running.length > 0 && this.running[0]!.left === 0) {
      const head = this.running.shift()!;
      if (head.error !== null) this.complete(head.desc, DmaStatus.Error, 0, head.error);
      else this.complete(head.desc, DmaStatus.Complete, 0);
    }
  }

  issuePending(): void {}
}

/** The IoError for a failed transfer, keeping the system code. */
export function ioErrorOf(kind: string, target: IoTarget, err: Error): IoError {
  if (err instanceof IoError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new IoError(`${kind === 'io_read' ? 'read from' : 'write to'} ${target.name} failed: ${err.message}`, target, typeof code === 'string' ? code : undefined, {
    cause: err,
  });
}

export class HostIoDevice implements Device {
  readonly name = 'host-io';
  readonly capabilities = Capability.Io;
  readonly limits = { maxSources: 255, alignment: 1 };
  readonly channels: readonly HostIoChannel[];
  constructor() {
    this.channels = [new HostIoChannel(this, 0)];
  }
  async close(): Promise<void> {}
}
