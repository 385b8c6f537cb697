/**
 * The cost model behind `policy: 'auto'`: for each engine, operation and size
 * class, how long a descriptor takes to run (an exponential moving average of
 * observed service times, seeded from the start-up kernel benchmark), plus a
 * fixed per-descriptor overhead (the doorbell round trip for a worker; zero
 * inline). Estimates are plain arithmetic on a few numbers: choosing must cost
 * far less than the smallest operation it chooses for.
 */
import type { HwOpKind } from '../dmaengine/index.js';

/** Upper bounds (bytes of source data) of the size classes; the last is open. */
export const SIZE_CLASS_LIMITS = [4096, 16384, 65536, 262144, 1048576, Number.POSITIVE_INFINITY] as const;

export function sizeClass(sourceBytes: number): number {
  let c = 0;
  while (sourceBytes > SIZE_CLASS_LIMITS[c]) c++;
  return c;
}

export function sizeClassName(c: number): string {
  const lo = c === 0 ? 0 : SIZE_CLASS_LIMITS[c - 1];
  const hi = SIZE_CLASS_LIMITS[c];
  const kib = (n: number) => (n >= 1048576 ? `${n / 1048576}M` : `${n / 1024}K`);
  return hi === Number.POSITIVE_INFINITY ? `>${kib(lo)}` : `≤${kib(hi)}`;
}

/** Weight of new observations in the moving averages. */
const ALPHA = 0.125;
/** Assumed until anything is known: 1 GB/s, like a scalar kernel. */
const DEFAULT_NS_PER_BYTE = 1;

interface Rate {
  /** Service time per source byte, ns. */
  nsPerByte: number;
  samples: number;
}

/** A figure per engine kind ("inline", "worker", …). */
export class CostModel {
  /**
   * Engine → operation → size class → rate. Nested maps, not one keyed by a joined string:
   * serviceNs runs on every small step a client with engines places, and building the key
   * would cost more than the lookup.
   */
  private readonly rates = new Map<string, Map<HwOpKind, Array<Rate | undefined>>>();
  private readonly overheads = new Map<string, number>();

  /** The rates of `engine` and `kind` by size class, made when `create`. */
  private row(engine: string, kind: HwOpKind, create: boolean): Array<Rate | undefined> | undefined {
    let byKind = this.rates.get(engine);
    if (byKind === undefined) {
      if (!create) return undefined;
      byKind = new Map();
      this.rates.set(engine, byKind);
    }
    let row = byKind.get(kind);
    if (row === undefined && create) {
      row = SIZE_CLASS_LIMITS.map(() => undefined);
      byKind.set(kind, row);
    }
    return row;
  }

  /** Sets a starting throughput (GB/s = bytes per ns) for every size class of an operation. */
  seedThroughput(engine: string, kind: HwOpKind, gbps: number, cls?: number): void {
    if (!(gbps > 0)) return;
    const row = this.row(engine, kind, true)!;
    const classes = cls === undefined ? SIZE_CLASS_LIMITS.map((_, i) => i) : [cls];
    for (const c of classes) row[c] = { nsPerByte: 1 / gbps, samples: 0 };
  }

  /** Sets the fixed cost of one descriptor on an engine (submit → completion seen), ns. */
  setOverhead(engine: string, ns: number): void {
    this.overheads.set(engine, ns);
  }

  overheadNs(engine: string): number {
    return this.overheads.get(engine) ?? 0;
  }

  /** Estimated service time of `bytes` of source data, ns (without overhead or queueing). */
  serviceNs(engine: string, kind: HwOpKind, bytes: number): number {
    const r = this.row(engine, kind, false)?.[sizeClass(bytes)];
    return bytes * (r?.nsPerByte ?? DEFAULT_NS_PER_BYTE);
  }

  /** Records an observed service time, keeping the average current. */
  observe(engine: string, kind: HwOpKind, bytes: number, ns: number): void {
    if (!(bytes > 0) || !(ns > 0)) return;
    const row = this.row(engine, kind, true)!;
    const cls = sizeClass(bytes);
    const perByte = ns / bytes;
    const r = row[cls];
    if (r === undefined) row[cls] = { nsPerByte: perByte, samples: 1 };
    else {
      // The first few samples count fully so a bad seed is forgotten fast.
      const a = r.samples < 4 ? 1 / (r.samples + 2) + ALPHA : ALPHA;
      r.nsPerByte += Math.min(a, 1) * (perByte - r.nsPerByte);
      r.samples++;
    }
  }

  /** Observed throughput in GB/s for display, or undefined if unknown. */
  throughput(engine: string, kind: HwOpKind, cls: number): number | undefined {
    const r = this.row(engine, kind, false)?.[cls];
    return r === undefined ? undefined : 1 / r.nsPerByte;
  }

  /** Every figure known, for stats(). */
  table(): Array<{ engine: string; op: HwOpKind; sizeClass: string; gbps: number; samples: number }> {
    const out: Array<{ engine: string; op: HwOpKind; sizeClass: string; gbps: number; samples: number }> = [];
    for (const [engine, byKind] of this.rates) {
      for (const [op, row] of byKind) {
        row.forEach((r, cls) => r !== undefined && out.push({ engine, op, sizeClass: sizeClassName(cls), gbps: 1 / r.nsPerByte, samples: r.samples }));
      }
    }
    return out;
  }
}
