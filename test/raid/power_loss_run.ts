/**
 * One power-loss run: random concurrent writes and flushes on an array of
 * PowerLossMembers, the power cut at a random instant, assembly and recovery
 * as the tool does it (resync when dirty; --force when also degraded), then
 * the invariants, sector by sector (a member may also die mid-run: its writes
 * fail from a random point on, the array degrades while writing):
 *   - a write that completed before a completed FLUSH began reads back (unless a
 *     later write to the same sector was issued, whose bytes are allowed too);
 *   - a sector never written holds its old bytes (zeros here);
 *   - check finds 0 mismatches after recovery.
 * Everything is drawn from the seed, so a failing seed replays exactly.
 */
import { assemble, create, resync, scrub, setConsistencyPolicy, MemoryMember } from '../../src/raid/index.js';
import { PowerLossMember, seededRandom, type PowerCutReport } from '../../src/raid/power_loss_member.js';

const SECTOR = 512;

export interface PowerLossCase {
  readonly seed: number;
  readonly level: 5 | 6;
  /** Members failed before the writes: the array runs degraded (the write hole's setting). */
  readonly degraded: number;
  /**
   * RAID-5 with a partial parity log (consistency policy ppl): true for
   * mdadm's 1 MiB area (MULTIPLE_PPLS), 'small' for a 64 KiB one (one header,
   * writes logged in bands), as --grow places it on a member with little room.
   */
  readonly ppl?: boolean | 'small';
  /** One more member dies after a random number of its writes (if the run gets that far). */
  readonly failMidRun?: boolean;
  /** Members without FUA writes: the PPL flushes whole members between batches instead. */
  readonly noFua?: boolean;
  /** The share of writes that cover whole stripes (default 1/6); a high one keeps several PPL headers in flight. */
  readonly fullStripes?: number;
}

export interface PowerLossResult {
  readonly seed: number;
  readonly level: number;
  readonly degraded: number;
  readonly writes: number;
  readonly flushes: number;
  /** Sectors whose bytes none of the allowed versions explain. */
  readonly violations: number;
  /** Of those, sectors on members the assembled array has: never the write hole, always a bug. */
  readonly outsideHole: number;
  /** Parity mismatches the check found after recovery (-1: not checkable, degraded). */
  readonly mismatches: number;
  /** True when the member told to die mid-run did (the array ran on degraded). */
  readonly failedMidRun: boolean;
  /** Array writes or flushes that failed before the power cut (none while redundancy remains). */
  readonly errors: readonly string[];
  /** Members the assembled array lacks: equal to degraded + failedMidRun when assembly left the dead member out. */
  readonly assembledMissing: number;
  readonly cut: PowerCutReport;
}

interface ArrayWrite {
  readonly id: number;
  readonly sector: number;
  readonly count: number;
  done: boolean;
}

/** The bytes write `id` puts into array sector `s`: every sector of every write differs. */
function sectorBytes(id: number, s: number): Uint8Array {
  const out = new Uint8Array(SECTOR);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < SECTOR; i += 8) {
    dv.setUint32(i, id + 1);
    dv.setUint32(i + 4, s ^ (i * 2654435761));
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Small writes anywhere (1-64 sectors), and a share `full` of writes covering one or two whole stripes, aligned (md's full-stripe writes). */
function pickWrite(random: () => number, sectors: number, stripeSectors: number, full: number): { sector: number; count: number } {
  const stripes = Math.floor(sectors / stripeSectors);
  if (random() < full && stripes >= 2) {
    const k = 1 + Math.floor(random() * 2);
    return { sector: Math.floor(random() * (stripes - k + 1)) * stripeSectors, count: k * stripeSectors };
  }
  const count = 1 + Math.floor(random() * Math.min(64, sectors));
  return { sector: Math.floor(random() * (sectors - count + 1)), count };
}

/** Runs one case; never throws for an invariant (it counts), only for a broken tool. */
export async function runPowerLoss(c: PowerLossCase): Promise<PowerLossResult> {
  const random = seededRandom(c.seed);
  const n = 4 + Math.floor(random() * 3);
  // 64 KiB chunks make full stripes wider than one PPL band (128 KiB): such writes log one entry.
  const cr = random();
  const chunkBytes = cr < 0.4 ? 4096 : cr < 0.8 ? 16384 : 65536;
  // A PPL array keeps 1 MiB of log before its data (mdadm's data offset grows by it).
  const memberBytes = c.ppl ? 5 << 19 : 3 << 19;
  const members = Array.from({ length: n }, (_, i) => new PowerLossMember(`pl${i}`, memberBytes, { fua: !c.noFua }));
  const policy = c.ppl === true ? 'ppl' : 'resync';
  const array = await create(members, { level: c.level, chunkBytes, assumeClean: true, cleanDelayMs: 0, consistencyPolicy: policy });
  if (c.ppl === 'small') {
    for (const d of [array.table.master, ...array.slots.map((s) => s.device!.sb)]) d.bblogOffset = 8 + 128;
    await setConsistencyPolicy(array, 'ppl');
  }
  for (let k = 0; k < c.degraded; k++) await array.fail(k);
  await array.flush();
  const dying = c.failMidRun ? members[c.degraded + Math.floor(random() * (n - c.degraded))]! : null;
  dying?.failAfterWrites(Math.floor(random() * 24));

  const sectors = array.size / SECTOR;
  const stripeSectors = (n - (c.level === 6 ? 2 : 1)) * (chunkBytes / SECTOR);
  // Per array sector, the writes to it in issue order (overlapping writes are never in flight together).
  const history: ArrayWrite[][] = Array.from({ length: sectors }, () => []);
  // Per sector, the index in history of the newest write a completed flush made durable (-1: the old bytes).
  const durable = new Int32Array(sectors).fill(-1);
  const inflight = new Set<ArrayWrite>();
  let writes = 0;
  let flushes = 0;
  // Writes and flushes that failed before the power cut (after it, everything in flight fails).
  const errors: string[] = [];
  let powerOff = false;
  const track = (p: Promise<unknown>) => {
    p.catch((err: unknown) => {
      if (!powerOff) errors.push((err as Error).message);
    });
  };

  const busy = (s: number, count: number) => [...inflight].some((w) => s < w.sector + w.count && w.sector < s + count);
  const steps = 5 + Math.floor(random() * 40);
  for (let step = 0; step < steps; step++) {
    const r = random();
    if (r < 0.15) {
      // FLUSH: what completed before it began is durable once it completes.
      const covered = history.map((h) => h.reduce((top, w, i) => (w.done ? i : top), -1));
      track(
        array.flush().then(() => {
          flushes++;
          covered.forEach((i, s) => (durable[s] = Math.max(durable[s]!, i)));
        }),
      );
    } else {
      const { sector, count } = pickWrite(random, sectors, stripeSectors, c.fullStripes ?? 1 / 6);
      if (busy(sector, count)) continue;
      const w: ArrayWrite = { id: writes++, sector, count, done: false };
      const data = new Uint8Array(count * SECTOR);
      for (let i = 0; i < count; i++) {
        data.set(sectorBytes(w.id, sector + i), i * SECTOR);
        history[sector + i]!.push(w);
      }
      inflight.add(w);
      track(
        array.write(data, sector * SECTOR).then(() => {
          w.done = true;
          inflight.delete(w);
        }),
      );
    }
    // Let some of the I/O run before the next step: the cut lands at a random instant.
    const ticks = Math.floor(random() * 6);
    for (let t = 0; t < ticks; t++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  // The power cut: every member at the same instant; what was in flight dies with it.
  powerOff = true;
  const cuts = members.map((m) => m.powerCut(random));
  const cut = cuts.reduce<PowerCutReport>((a, { report: b }) => ({ kept: a.kept + b.kept, dropped: a.dropped + b.dropped, torn: a.torn + b.torn }), { kept: 0, dropped: 0, torn: 0 });

  const again = cuts.map(({ image }, i) => new MemoryMember(`pl${i}`, image));
  // The member that died is offered too: its superblock is older, and assembly must leave it out.
  // With a PPL, md (and asynctx) start a dirty degraded array without --force: the log mends it.
  const failedMidRun = dying?.failed ?? false;
  const missing = c.degraded + (failedMidRun ? 1 : 0);
  const { array: back } = await assemble(again.slice(c.degraded), { force: missing > 0 && !c.ppl, cleanDelayMs: 0 });
  // A death the superblocks never recorded leaves its member in the array: then it is whole again.
  const assembledMissing = back.slots.filter((s) => s.state === 'missing' || s.state === 'faulty').length;
  if (back.needsResync && assembledMissing === 0) await resync(back);
  const got = new Uint8Array(array.size);
  await back.read(got, 0);
  let violations = 0;
  let outsideHole = 0;
  const absent = back.slots.map((s) => s.state === 'missing' || s.state === 'faulty');
  const zero = new Uint8Array(SECTOR);
  for (let s = 0; s < sectors; s++) {
    const bytes = got.subarray(s * SECTOR, (s + 1) * SECTOR);
    const h = history[s]!;
    const allowed: Uint8Array[] = durable[s]! < 0 ? [zero] : [];
    for (let i = Math.max(0, durable[s]!); i < h.length; i++) allowed.push(sectorBytes(h[i]!.id, s));
    if (allowed.some((a) => equal(a, bytes))) continue;
    violations++;
    // The write hole can only reach chunks the assembled array rebuilds from parity.
    if (!absent[back.layout.mapSector(s).disk]) outsideHole++;
  }
  const mismatches = assembledMissing === 0 ? (await scrub(back, 'check')).mismatches : -1;
  await back.stop();
  return { seed: c.seed, level: c.level, degraded: c.degraded, writes, flushes, violations, outsideHole, mismatches, failedMidRun, errors, assembledMissing, cut };
}
