/**
 * Writing one member's partial parity log, by raid5-ppl.c's rules: stripe
 * writes whose parity lives on this member append entries to an io unit; a
 * unit is written (header, then the entries' partial parity) and made durable
 * before any of its stripes writes data or parity. Recovery (md's and ours)
 * applies only the newest valid header, so every write that may still be torn
 * must be described there.
 *
 * md keeps that true by writing the next unit only once every stripe of the
 * previous one has finished and the members it wrote are flushed (none, when
 * its stripes wrote with FUA). We do too, with one exception that md lacks and
 * recovery needs nothing new for: where the area holds several headers and
 * every unit still unretired logged only full-stripe entries (no partial
 * parity: replaying one recomputes parity from the data as it is), the next
 * header is written at once and repeats those entries before its own. Headers
 * stay serialized (each durable before the next is written) and never wrap to
 * the area's start while entries are carried, so whichever header is newest
 * after a cut lists every write that may be torn. A unit with partial parity
 * goes early only behind FUA-only units, whose finished writes are already
 * durable: its partial parity is read from bytes a cut cannot take back.
 */
import {
  encodePplHeader,
  isMultiplePpl,
  PPL_HDR_MAX_ENTRIES,
  PPL_HEADER_SIZE,
  pplEntrySpace,
  type PplArea,
  type PplEntry,
} from './ppl.js';
import { SECTOR } from './superblock.js';

/** What a member log needs from the array. */
export interface PplLogTarget {
  /** Writes at byte `position` of member `disk` (the whole device, not from data_offset). */
  write(disk: number, buf: Uint8Array, position: number): Promise<void>;
  /** Makes member `disk`'s writes durable. */
  sync(disk: number): Promise<void>;
  /** Writes at byte `position` of member `disk` and resolves once that write is durable (REQ_FUA). */
  writeDurable(disk: number, buf: Uint8Array, position: number): Promise<void>;
  /** True when member `disk` takes writes. */
  writable(disk: number): boolean;
  /** The next log write sequence number (one counter for every log of the array, md's ppl_conf->seq). */
  nextGeneration(): number;
  readonly signature: number;
}

export interface IoUnit {
  readonly generation: number;
  readonly entries: PplEntry[];
  readonly pps: Uint8Array[];
  ppBytes: number;
  submitted: boolean;
  /** Stripes appended and not yet done. */
  pending: number;
  /** Members the unit's stripes write (flushed before the unit retires; none when they wrote with FUA). */
  readonly disks: Set<number>;
  readonly durable: Promise<void>;
  resolve: () => void;
}

/** Zeros for clearing a log area, shared and never written into. */
const ZERO = new Uint8Array(64 * 1024);

/** One member's log: the io units not yet retired (oldest first), where the next header goes. */
export class MemberPplLog {
  private readonly units: IoUnit[] = [];
  /** A header is being written: the next waits for it (headers reach the platter in order). */
  private writing = false;
  /** Sectors into the area of the next header (MULTIPLE_PPLS areas only move it). */
  private next = 0;
  /** Bytes of partial parity one unit may carry. */
  readonly space: number;
  private readonly multi: boolean;
  private reset: Promise<void> | null = null;

  constructor(
    private readonly target: PplLogTarget,
    readonly disk: number,
    readonly area: PplArea,
  ) {
    this.space = pplEntrySpace(area.size);
    this.multi = isMultiplePpl(area.size);
  }

  /**
   * Adds an entry and its partial parity (empty for a full-stripe write) for
   * a stripe that will write `disks`. Resolves once the entry is durable: the
   * stripe may then write; it must call `done(unit)` when its writes end.
   */
  async append(entry: PplEntry, pp: Uint8Array, disks: readonly number[]): Promise<IoUnit> {
    let unit = this.units[this.units.length - 1];
    if (!unit || unit.submitted || unit.ppBytes + pp.length > this.space || unit.entries.length >= PPL_HDR_MAX_ENTRIES) {
      let resolve!: () => void;
      const durable = new Promise<void>((r) => (resolve = r));
      unit = { generation: this.target.nextGeneration(), entries: [], pps: [], ppBytes: 0, submitted: false, pending: 0, disks: new Set(), durable, resolve };
      this.units.push(unit);
    }
    unit.entries.push(entry);
    if (pp.length) unit.pps.push(pp);
    unit.ppBytes += pp.length;
    unit.pending++;
    for (const d of disks) unit.disks.add(d);
    // Stripes arriving in the same turn share the unit (one header write for all).
    queueMicrotask(() => this.kick());
    await unit.durable;
    return unit;
  }

  /** The stripe of `unit` has finished its member writes (or failed). */
  done(unit: IoUnit): void {
    if (--unit.pending > 0) return;
    void this.finish(unit);
  }

  /** Clears the area and writes an empty header (md does this at every start, and for a member added). */
  writeEmpty(): Promise<void> {
    this.reset ??= (async () => {
      const at = this.area.sector * SECTOR;
      const bytes = this.area.size * SECTOR;
      for (let off = PPL_HEADER_SIZE; off < bytes; off += ZERO.length) {
        await this.target.write(this.disk, ZERO.subarray(0, Math.min(ZERO.length, bytes - off)), at + off);
      }
      await this.target.write(this.disk, encodePplHeader({ signature: this.target.signature, generation: 0, entries: [] }), at);
      await this.target.sync(this.disk);
      this.next = 0;
    })();
    return this.reset;
  }

  private kick(): void {
    if (this.writing) return;
    const i = this.units.findIndex((u) => !u.submitted);
    if (i < 0) return;
    const unit = this.units[i]!;
    const earlier = this.units.slice(0, i);
    if (earlier.length > 0 && !this.mayCarry(earlier, unit)) return;
    unit.submitted = true;
    void this.submit(unit, earlier.flatMap((u) => u.entries));
  }

  /** `unit`'s header may go now, repeating the entries of the `earlier` units still unretired (see the top). */
  private mayCarry(earlier: readonly IoUnit[], unit: IoUnit): boolean {
    const carried = earlier.reduce((n, u) => n + u.entries.length, 0);
    return (
      this.multi &&
      earlier.every((u) => u.ppBytes === 0 && (unit.ppBytes === 0 || u.disks.size === 0)) &&
      carried + unit.entries.length <= PPL_HDR_MAX_ENTRIES &&
      this.next + (PPL_HEADER_SIZE + unit.ppBytes) / SECTOR <= this.area.size
    );
  }

  private async submit(unit: IoUnit, carried: readonly PplEntry[]): Promise<void> {
    this.writing = true;
    try {
      // A log we cannot write protects nothing; md releases the stripes all the same.
      if (this.target.writable(this.disk)) {
        if (this.reset === null) await this.writeEmpty();
        await this.reset;
        const header = encodePplHeader({ signature: this.target.signature, generation: unit.generation, entries: [...carried, ...unit.entries] });
        const sectors = (PPL_HEADER_SIZE + unit.ppBytes) / SECTOR;
        if (this.multi && this.area.size - this.next < sectors) this.next = 0;
        const buf = new Uint8Array(PPL_HEADER_SIZE + unit.ppBytes);
        buf.set(header, 0);
        let off = PPL_HEADER_SIZE;
        for (const pp of unit.pps) {
          buf.set(pp, off);
          off += pp.length;
        }
        const at = (this.area.sector + this.next) * SECTOR;
        if (this.multi) this.next += sectors;
        // REQ_FUA: the entry is on the platter before any stripe it covers writes.
        await this.target.writeDurable(this.disk, buf, at);
      }
    } catch {
      // The target marked the member faulty; the stripes go on without a log, as md's do.
    } finally {
      this.writing = false;
      unit.resolve();
      this.kick();
    }
  }

  private async finish(unit: IoUnit): Promise<void> {
    // md's ppl_do_flush: what the unit's stripes wrote is durable before the next header may overwrite this one.
    await Promise.all([...unit.disks].filter((d) => this.target.writable(d)).map((d) => this.target.sync(d).catch(() => undefined)));
    this.units.splice(this.units.indexOf(unit), 1);
    this.kick();
  }
}
