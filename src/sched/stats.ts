/** Counters the scheduler keeps per channel and per operation, as plain data for stats(). */

export interface ChannelCounters {
  /** Descriptors this channel completed successfully. */
  ops: number;
  /** Source bytes of those. */
  bytes: number;
  /** Descriptors it failed (injected, thread death, timeout, unregister). */
  errors: number;
  /** Of those, how many were run again elsewhere. */
  failovers: number;
  /** Most descriptors outstanding at once. */
  queueHighWater: number;
  /** Milliseconds with at least one descriptor outstanding. */
  busyMs: number;
  /** Descriptors that timed out. */
  timeouts: number;
}

export interface OpCounters {
  /** Engine failures of this operation that were run again elsewhere. */
  failovers: number;
}

export function newChannelCounters(): ChannelCounters {
  return { ops: 0, bytes: 0, errors: 0, failovers: 0, queueHighWater: 0, busyMs: 0, timeouts: 0 };
}

export function newOpCounters(): OpCounters {
  return { failovers: 0 };
}

/** A map of counters that creates rows on first use. */
export class CounterTable<T extends object> {
  private readonly rows = new Map<string, T>();
  constructor(private readonly make: () => T) {}

  get(key: string): T {
    let row = this.rows.get(key);
    if (row === undefined) {
      row = this.make();
      this.rows.set(key, row);
    }
    return row;
  }

  snapshot(): Record<string, T> {
    return Object.fromEntries([...this.rows].map(([k, v]) => [k, { ...v }]));
  }
}
