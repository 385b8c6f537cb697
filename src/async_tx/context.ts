/**
 * Core-private: the state one client owns — its software channel, the engine
 * channels it may offload to, the rule that picks one, and its counters.
 * The module-level API uses a default context with the software path only.
 */
import { DmaStatus, type Channel, type HwDescriptor, type HwOp } from '../dmaengine/index.js';
import { SoftwareDevice } from '../drivers/software/index.js';
import { ClientClosedError } from '../errors.js';
import type { TxDescriptor } from './submit.js';

/** Picks the channel for an operation, or null for the synchronous path. */
export type ChannelChooser = (op: HwOp, tx: TxDescriptor) => Channel | null;

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
  closed = false;
  /** Chooses engines; the default keeps everything on the synchronous path. */
  chooseChannel: ChannelChooser = () => null;
  /**
   * Hands a step to an engine channel (prepare, submit); false when the channel
   * refuses it at prepare, and the step then runs inline. The scheduler wraps this.
   */
  submitToChannel: (chan: Channel, tx: TxDescriptor, op: HwOp) => boolean = (chan, tx, op) => {
    const desc = chan.prepare(op, (d) => this.engineCompleted(tx, d));
    if (desc === null) return false;
    tx.hw = desc;
    tx.channel = chan.name;
    tx.cookie = chan.submit(desc);
    this.noteQueued(chan);
    return true;
  };
  /** Told how long an inline step took, for the steps that are timed (a sample). */
  onInlineRun: (op: HwOp, ns: number) => void = () => {};
  /** What to do when an engine reports a descriptor final (failover hooks in here). */
  onEngineCompletion: (tx: TxDescriptor, desc: HwDescriptor) => void = (tx, desc) => {
    tx.cookie = desc.cookie;
    tx.complete(desc.status, desc.result, desc.error);
  };
  /** Channels with work queued since their last doorbell. */
  private readonly unissued = new Set<Channel>();
  private readonly inFlight = new Set<TxDescriptor>();
  readonly opStats = new Map<string, OpStats>();

  constructor(readonly name: string) {}

  get softwareChannel(): Channel {
    return this.software.channels[0];
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
    if (tx.channel === this.softwareChannel.name || tx.channel === '') s.inline++;
    else s.offloaded++;
  }

  noteQueued(chan: Channel): void {
    this.unissued.add(chan);
  }

  engineCompleted(tx: TxDescriptor, desc: HwDescriptor): void {
    this.onEngineCompletion(tx, desc);
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
