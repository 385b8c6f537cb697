/**
 * RAID-5 writes with a partial parity log (raid5-ppl.c): before a stripe
 * writes data and parity, the partial parity of the write — the xor of the
 * stripe's data chunks the write does not modify, over the rows it touches —
 * is logged on that stripe's parity member and made durable. After a crash,
 * parity = partial parity ⊕ the modified chunks as they are on disk, whatever
 * of the write reached them, so chunks the write never touched stay
 * recoverable even when a member is missing. A full-stripe write logs an
 * entry without partial parity (parity is the xor of the data).
 *
 * Beyond md: when a member that cannot be read here (missing, or not yet
 * rebuilt this far) is among the chunks a write modifies, md's entry cannot
 * be applied at recovery and the missing chunk's new bytes may come back
 * neither old nor new. Such a write is split (that chunk alone first, then
 * the runs either side, each with its own entry, each logged after the one
 * before is on disk), so every entry is one md applies or safely skips.
 */
import { MemberIOError } from './errors.js';
import { handleWrite, type Extent, type StripeEnv } from './handle.js';
import { listedBad } from './stripe_pieces.js';
import type { Layout, RowMap } from './layout.js';
import type { MemberTable } from './member_table.js';
import { TxFlags } from './ops.js';
import { crc32c, pplArea, pplSignature, validatePplArea } from './ppl.js';
import { MemberPplLog, type PplLogTarget } from './ppl_log.js';
import { merge, covers, type StripeHead } from './stripe.js';
import { SECTOR } from './superblock.js';
import type { MemberDevice } from './member_table.js';

/** What the log needs from the array around it. */
export interface PplHost {
  readonly layout: Layout;
  readonly table: MemberTable;
  markFaulty(d: number, reason: MemberIOError): void;
}

const NO_PP = new Uint8Array(0);

function clip(e: Extent, lo: number, hi: number): Extent | null {
  const a = Math.max(e.lo, lo);
  const b = Math.min(e.hi, hi);
  return a < b ? { ...e, lo: a, hi: b, userOffset: e.userOffset + (a - e.lo) } : null;
}

/** The partial parity log of one running RAID-5 array: one member log per device, one generation counter. */
export class Ppl implements PplLogTarget {
  readonly signature: number;
  private generation = 0;
  private readonly logs = new Map<MemberDevice, MemberPplLog>();
  private readonly flushes = new Map<MemberDevice, FlushGate>();

  constructor(private readonly host: PplHost) {
    this.signature = pplSignature(host.table.master.setUuid);
  }

  nextGeneration(): number {
    return ++this.generation;
  }

  writable(disk: number): boolean {
    return this.host.table.writable(disk);
  }

  async write(disk: number, buf: Uint8Array, position: number): Promise<void> {
    await this.memberOp(disk, 'log write', (m) => m.write(buf, position));
  }

  /** Flushes one member; requests made while a flush runs share the one after it (one flush for many units). */
  sync(disk: number): Promise<void> {
    const dev = this.host.table.slots[disk]?.device;
    if (!dev) return Promise.reject(new MemberIOError(`member ${disk} is not available`, disk));
    let gate = this.flushes.get(dev);
    if (!gate) this.flushes.set(dev, (gate = new FlushGate(() => this.memberOp(disk, 'flush', (m) => m.sync()))));
    return gate.request();
  }

  /** Member `disk` may hold completed writes in a volatile cache. */
  private cached(disk: number): boolean {
    return this.host.table.slots[disk]?.device?.member.volatileCache !== false;
  }

  async writeDurable(disk: number, buf: Uint8Array, position: number): Promise<void> {
    await this.memberOp(disk, 'log write', (m) => (m.writeFua ? m.writeFua(buf, position) : m.write(buf, position).then(() => m.sync())));
  }

  private async memberOp(disk: number, what: string, op: (m: MemberDevice['member']) => Promise<void>): Promise<void> {
    const dev = this.host.table.slots[disk]?.device;
    if (!dev) throw new MemberIOError(`member ${disk} is not available`, disk);
    try {
      await op(dev.member);
    } catch (err) {
      const e = new MemberIOError(`PPL ${what} failed on member ${disk} (${dev.member.name}): ${(err as Error).message}`, disk, { cause: err });
      this.host.markFaulty(disk, e);
      throw e;
    }
  }

  /** The log on slot `disk`'s current device (created on first use; null when it records no PPL area). */
  logFor(disk: number): MemberPplLog | null {
    const dev = this.host.table.slots[disk]?.device;
    if (!dev) return null;
    let log = this.logs.get(dev);
    if (!log) {
      if (!pplArea(dev.sb)) return null;
      const area = validatePplArea(dev.sb, Math.floor(dev.member.size / SECTOR));
      log = new MemberPplLog(this, disk, area);
      this.logs.set(dev, log);
    }
    return log;
  }

  /** Empties the log of every member present (md at every start: stale entries never meet new ones). */
  async writeEmpty(): Promise<void> {
    const live = this.host.table.slots.map((_, d) => d).filter((d) => this.writable(d));
    await Promise.all(live.map((d) => this.logFor(d)?.writeEmpty().catch(() => undefined)));
  }

  /** The stripe write hook: logs, then writes through handleWrite. */
  async stripeWrite(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Promise<void> {
    const row = rowOf(env, sh);
    const endSector = sh.sector + sh.unit / SECTOR;
    const log = readable(env, row.pd, endSector) && env.writable(row.pd) ? this.logFor(row.pd) : null;
    // md logs only to an in-sync parity member; without one there is no parity to tear.
    if (!log) return handleWrite(env, sh, extents);
    for (const group of splitAroundUnreadable(env, sh, row, extents)) {
      const lo = Math.floor(Math.min(...group.map((e) => e.lo)) / SECTOR) * SECTOR;
      const hi = Math.ceil(Math.max(...group.map((e) => e.hi)) / SECTOR) * SECTOR;
      // A write to every data member logs no partial parity (md's STRIPE_FULL_WRITE): one entry, whatever its size.
      const band = group.length === row.dataDisks.length ? hi - lo : log.space;
      for (let b = lo; b < hi; b += band) {
        const part = group.map((e) => clip(e, b, b + band)).filter((e): e is Extent => e !== null);
        if (part.length) await this.logged(env, sh, row, log, part);
      }
    }
  }

  private async logged(env: StripeEnv, sh: StripeHead, row: RowMap, log: MemberPplLog, exts: readonly Extent[]): Promise<void> {
    const lo = Math.floor(Math.min(...exts.map((e) => e.lo)) / SECTOR) * SECTOR;
    const hi = Math.ceil(Math.max(...exts.map((e) => e.hi)) / SECTOR) * SECTOR;
    const ks = exts.map((e) => row.dataIndexOfDisk[e.disk]!);
    const kmin = Math.min(...ks);
    const kmax = Math.max(...ks);
    const rect = row.dataDisks.slice(kmin, kmax + 1);
    const pp = await partialParity(env, sh, row, rect, lo, hi);
    if (pp === null) return handleWrite(env, sh, exts); // two members out: handleWrite reports the failed array
    const cs = env.layout.geometry.chunkSectors;
    const stripe = Math.floor(sh.sector / cs);
    const entry = {
      dataSector: env.layout.arraySector(stripe, kmin, sh.sector - stripe * cs + lo / SECTOR),
      ppSize: pp.length,
      dataSize: rect.length * (hi - lo),
      parityDisk: row.pd,
      checksum: crc32c(pp),
    };
    const disks = [...exts.map((e) => e.disk), row.pd].filter((d) => this.cached(d));
    // Members that take a write alone durable (REQ_FUA) are written so: their writes then need no
    // flush before the unit retires (md's wb_cache_on false), a full-stripe entry stops riding
    // along in later headers (ppl_log.ts) once its writes complete, and the log's cycle is one
    // device flush shorter. Others are flushed, one shared flush per member, when the unit's
    // stripes are done. (Writing full stripes to the cache and flushing later measured slower
    // in bench ppl: a flush per unit costs more than FUA writes on the same members.)
    const fua = disks.every((d) => env.canFua?.(d) === true);
    const unit = await log.append(entry, pp, fua ? [] : disks);
    if (exts.length > 1 && exts.some((e) => !readable(env, e.disk, sh.sector + Math.ceil(e.hi / SECTOR)))) {
      // A member this entry needs at recovery failed while it was being logged: the entry can
      // no longer mend this stripe. Written as it is, a cut would leave the missing chunk neither
      // old nor new; split around it instead, as if it had been missing from the start.
      log.done(unit);
      return this.stripeWrite(env, sh, exts);
    }
    try {
      await handleWrite(fua ? durableWrites(env) : separateWrites(env), sh, exts);
    } finally {
      log.done(unit);
    }
  }
}

/** Flushes of one member, merged: a request is answered by a flush that began after it, shared with every request made while an earlier flush ran. */
class FlushGate {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly flush: () => Promise<void>) {}

  request(): Promise<void> {
    if (!this.running) return this.start();
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.start();
      });
    return this.next;
  }

  private start(): Promise<void> {
    const run = this.flush().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }
}

/**
 * The stripe's environment with each member write a request of its own, all issued together:
 * a chain stops at its first failed transfer, and a member dying there would hold back the
 * parity write behind it; a cut before the retry would leave a torn stripe whose missing chunk
 * no entry can mend (a full-stripe entry needs every data member).
 */
function separateWrites(env: StripeEnv): StripeEnv {
  return { ...env, target: undefined };
}

/** separateWrites, each durable on completion (engines could not chain those anyway). */
function durableWrites(env: StripeEnv): StripeEnv {
  return { ...separateWrites(env), io: (d, write, buf, pos) => env.io(d, write, buf, pos, write) };
}

/** Member `disk` holds current bytes below member sector `endSector`. */
function readable(env: StripeEnv, disk: number, endSector: number): boolean {
  return endSector <= env.readableSectors(disk);
}

function rowOf(env: StripeEnv, sh: StripeHead): RowMap {
  return env.layout.row(Math.floor(sh.sector / env.layout.geometry.chunkSectors));
}

/**
 * The write as md-applicable pieces: as it is, unless a member it modifies
 * cannot be read here and others are modified too; then that member's extent
 * alone, followed by the runs of data chunks before and after it.
 */
function splitAroundUnreadable(env: StripeEnv, sh: StripeHead, row: RowMap, extents: readonly Extent[]): Extent[][] {
  if (extents.length < 2) return [[...extents]];
  const end = (e: Extent) => sh.sector + Math.ceil(e.hi / SECTOR);
  const lost = extents.find((e) => !readable(env, e.disk, end(e)) || listedBad(env, sh, e.disk, e.lo, e.hi));
  if (!lost) return [[...extents]];
  const k = row.dataIndexOfDisk[lost.disk]!;
  const before = extents.filter((e) => row.dataIndexOfDisk[e.disk]! < k);
  const after = extents.filter((e) => row.dataIndexOfDisk[e.disk]! > k);
  return [[lost], before, after].filter((g) => g.length > 0);
}

/**
 * ops_run_partial_parity: the xor of the data chunks outside `rect` over
 * [lo, hi), read into the stripe head (so the write that follows need not
 * read them again) — or, when one of them cannot be read, parity ⊕ the old
 * bytes of `rect` (the read-modify-write form). Empty for a full-stripe
 * write; null when neither form can be had.
 */
async function partialParity(env: StripeEnv, sh: StripeHead, row: RowMap, rect: readonly number[], lo: number, hi: number): Promise<Uint8Array | null> {
  const others = row.dataDisks.filter((d) => !rect.includes(d));
  if (others.length === 0) return NO_PP;
  for (;;) {
    const end = sh.sector + hi / SECTOR;
    // A bad block is unreadable as a missing member is (md's is_badblock), so a listed range never loops here.
    const usable = (d: number) => readable(env, d, end) && !listedBad(env, sh, d, lo, hi);
    const srcs = others.every(usable) ? others : [row.pd, ...rect];
    if (!srcs.every(usable)) return null;
    const results = await Promise.allSettled(
      srcs.filter((d) => !covers(sh.valid[d]!, lo, hi)).map(async (d) => {
        await env.io(d, false, sh.buf(d).subarray(lo, hi), sh.sector * SECTOR + lo);
        sh.valid[d] = merge(sh.valid[d]!, lo, hi);
      }),
    );
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad && !(bad.reason instanceof MemberIOError)) throw bad.reason;
    if (bad) continue; // the member is faulty now, or lists the range bad: plan again without it
    const views = srcs.map((d) => sh.buf(d).subarray(lo, hi));
    if (views.length === 1) return views[0]!.slice();
    const pp = new Uint8Array(hi - lo);
    await env.ops.waitForAsyncTx(env.ops.asyncXor(pp, views, 0, hi - lo, { flags: TxFlags.XorZeroDst }));
    return pp;
  }
}
