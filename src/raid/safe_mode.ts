/**
 * md's safe mode for one array, the clean/dirty protocol: the superblocks are marked dirty
 * (resync_offset 0) before the first write lands, and clean again (MAX_SECTOR) once writes have
 * been idle for the clean delay (md's safe_mode_delay) and parity is trusted. An array that stops
 * while dirty is resynced at its next assembly. This counts the writes in flight, so that drains
 * and the clean mark wait for them.
 */
import { MAX_SECTOR } from './superblock.js';

/** What the protocol needs of its array. */
export interface SafeModeEnv {
  /** Idle time after the last write before the array is marked clean, in ms. */
  readonly cleanDelayMs: number;
  /** A read-only array writes no superblock and is never marked. */
  readonly readonly: boolean;
  /** The array was stopped: no clean mark is scheduled any more. */
  stopped(): boolean;
  /** Parity is not known good (assembled dirty, or created without --assume-clean): it stays dirty. */
  needsResync(): boolean;
  /** The superblocks say dirty now. */
  dirty(): boolean;
  /** Rewrites every live superblock with this resync offset (0: dirty; MAX_SECTOR: clean). */
  writeResyncOffset(offset: number): Promise<void>;
  /** Resolves once superblock writes in flight have finished. */
  settled(): Promise<void>;
}

export class SafeMode {
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private dirtying: Promise<void> | null = null;
  private cleanTimer: NodeJS.Timeout | null = null;

  constructor(private readonly env: SafeModeEnv) {}

  /** A write has started: the clean mark waits for it. */
  writeStarted(): void {
    this.inflight++;
  }

  /** A write has ended (done or failed): the last one wakes drains and schedules the clean mark. */
  writeEnded(): void {
    this.inflight--;
    if (this.inflight === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
      this.scheduleClean();
    }
  }

  /** md's "active" transition: resync_offset 0 on every member before the first write lands. */
  markDirty(): Promise<void> {
    this.cancelClean();
    if (this.env.dirty()) return this.dirtying ?? Promise.resolve();
    this.dirtying = this.env.writeResyncOffset(0).finally(() => (this.dirtying = null));
    return this.dirtying;
  }

  /** Waits for writes in flight, the dirty mark and superblock writes to drain. */
  async drain(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    if (this.dirtying) await this.dirtying;
    await this.env.settled();
  }

  /** Marks the array clean once nothing is in flight and parity is trusted. */
  async markClean(): Promise<void> {
    await this.drain();
    if (this.inflight > 0 || !this.env.dirty() || this.env.needsResync() || this.env.readonly) return;
    await this.env.writeResyncOffset(MAX_SECTOR);
  }

  /** Drops a scheduled clean mark (a write came, or the array stops and marks clean itself). */
  cancelClean(): void {
    if (this.cleanTimer) clearTimeout(this.cleanTimer);
    this.cleanTimer = null;
  }

  private scheduleClean(): void {
    if (this.env.readonly || this.env.stopped()) return;
    if (this.cleanTimer) clearTimeout(this.cleanTimer);
    this.cleanTimer = setTimeout(() => {
      this.cleanTimer = null;
      void this.markClean().catch(() => undefined);
    }, this.env.cleanDelayMs);
    this.cleanTimer.unref();
  }
}
