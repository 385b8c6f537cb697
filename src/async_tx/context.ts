/**
 * Core-private: the state one client owns — its software channel, the
 * placement that decides where its steps run (async_tx/placement.ts), and its
 * counters. The module-level API uses a default context with the software
 * path only.
 */
import { DmaStatus, type Channel } from '../dmaengine/index.js';
import { HostIoDevice } from '../drivers/host_io/index.js';
import { SoftwareDevice, type SoftwareChannel } from '../drivers/software/index.js';
import { ClientClosedError } from '../errors.js';
import { INLINE_ONLY, type Placement } from './placement.js';
import type { TxDescriptor } from './submit.js';

/** Per-operation counters. */
export interface OpStats {
  submitted: number;
  /** Source bytes of the completed ones. */
  bytes: number;
  completed: number;
  errors: number;
  inline: number;
  offloaded: number;
}

export class TxContext {
  readonly software = new SoftwareDevice();
  /** The main thread's path for I/O steps, as `software` is for kernels. */
  readonly hostIo = new HostIoDevice();
  closed = false;
  /** Channels with work queued since their last doorbell. */
  private readonly unissued = new Set<Channel>();
  private readonly inFlight = new Set<TxDescriptor>();
  readonly opStats = new Map<string, OpStats>();
  /** The synchronous paths' channel names, read once: Channel.name builds its string on every read. */
  readonly softwareName: string;
  readonly hostIoName: string;

  /**
   * @param name how errors name the client
   * @param placement where steps run (default: all on the synchronous path)
   */
  constructor(
    readonly name: string,
    readonly placement: Placement = INLINE_ONLY,
  ) {
    this.softwareName = this.softwareChannel.name;
    this.hostIoName = this.hostIoChannel.name;
  }

  get softwareChannel(): SoftwareChannel {
    return this.software.channels[0];
  }

  get hostIoChannel(): Channel {
    return this.hostIo.channels[0];
  }

  assertOpen(fn: string): void {
    if (this.closed) throw new ClientClosedError(`${fn}: the client ${this.name} is closed`);
  }

  /** Descriptors submitted and not yet final. */
  get pending(): number {
    return this.inFlight.size;
  }

  private statsFor(op: string): OpStats {
    let s = this.opStats.get(op);
    if (s === undefined) {
      s = { submitted: 0, bytes: 0, completed: 0, errors: 0, inline: 0, offloaded: 0 };
      this.opStats.set(op, s);
    }
    return s;
  }

  noteSubmitted(tx: TxDescriptor): void {
    this.inFlight.add(tx);
    this.statsFor(tx.op).submitted++;
  }

  noteCompleted(tx: TxDescriptor): void {
    this.inFlight.delete(tx);
    const s = this.statsFor(tx.op);
    s.completed++;
    if (tx.status === DmaStatus.Error) {
      s.errors++;
      return;
    }
    s.bytes += tx.bytes;
    if (tx.channel === this.softwareName || tx.channel === this.hostIoName || tx.channel === '') s.inline++;
    else s.offloaded++;
  }

  /** noteSubmitted and noteCompleted at once, for a step the fast path ran inline (it was never pending). */
  noteRanNow(tx: TxDescriptor): void {
    const s = this.statsFor(tx.op);
    s.submitted++;
    s.completed++;
    if (tx.status === DmaStatus.Error) {
      s.errors++;
      return;
    }
    s.bytes += tx.bytes;
    s.inline++;
  }

  noteQueued(chan: Channel): void {
    this.unissued.add(chan);
  }

  /** The doorbell: starts everything queued on every channel. */
  issuePendingAll(): void {
    const chans = [...this.unissued];
    this.unissued.clear();
    for (const c of chans) c.issuePending();
  }

  /** Resolves when every descriptor submitted so far is final. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) {
      this.issuePendingAll();
      await Promise.all([...this.inFlight].map((t) => t.whenDone()));
    }
  }
}
