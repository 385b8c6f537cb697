/**
 * md's RAID-4/5/6 layouts: where each chunk of the array lives, which member
 * holds P and Q in each stripe, and the order in which data members enter the
 * Q syndrome. These are the rules of drivers/md/raid5.c (raid5_compute_sector,
 * raid6_d0, raid6_idx_to_slot), written for every algorithm md defines, so
 * arrays of any shape made by Linux md read back here and ours assemble there.
 *
 * Vocabulary: a *chunk row* ("stripe" in raid5_compute_sector) is one chunk on
 * every member at the same member offset; `stripe` numbers them from 0.
 */
import { RaidUsageError } from './errors.js';

/** md's algorithm numbers (raid5.h ALGORITHM_*). */
export const Algorithm = {
  LeftAsymmetric: 0,
  RightAsymmetric: 1,
  LeftSymmetric: 2,
  RightSymmetric: 3,
  Parity0: 4,
  ParityN: 5,
  RotatingZeroRestart: 8,
  RotatingNRestart: 9,
  RotatingNContinue: 10,
  LeftAsymmetric6: 16,
  RightAsymmetric6: 17,
  LeftSymmetric6: 18,
  RightSymmetric6: 19,
  Parity06: 20,
} as const;

const R5_NAMES: ReadonlyArray<[string, number]> = [
  ['left-asymmetric', 0],
  ['right-asymmetric', 1],
  ['left-symmetric', 2],
  ['right-symmetric', 3],
  ['parity-first', 4],
  ['parity-last', 5],
];
const R6_EXTRA: ReadonlyArray<[string, number]> = [
  ['ddf-zero-restart', 8],
  ['ddf-N-restart', 9],
  ['ddf-N-continue', 10],
  ['left-asymmetric-6', 16],
  ['right-asymmetric-6', 17],
  ['left-symmetric-6', 18],
  ['right-symmetric-6', 19],
  ['parity-first-6', 20],
];
const ALIASES: Readonly<Record<string, number>> = { la: 0, ra: 1, ls: 2, rs: 3, default: 2 };

/** The array's shape as md records it. */
export interface Geometry {
  /** 4, 5 or 6. */
  readonly level: number;
  readonly raidDisks: number;
  /** md algorithm number (ignored for level 4, which is always parity-last). */
  readonly layout: number;
  /** Chunk size in 512-byte sectors. */
  readonly chunkSectors: number;
}

/** Where one chunk row keeps its parity, and the data members in array order. */
export interface RowMap {
  /** Member holding P. */
  readonly pd: number;
  /** Member holding Q (RAID-6), else -1. */
  readonly qd: number;
  /** dataDisks[k] = member holding the k-th data chunk of the row, in array order. */
  readonly dataDisks: readonly number[];
  /** For each member: its data slot in the Q syndrome, or -1 for P and Q (RAID-6 only). */
  readonly slotOfDisk: readonly number[];
  /** Number of data slots of the syndrome (data members, or every member in the DDF layouts). */
  readonly syndromeDisks: number;
  /** For each member: its index k in dataDisks, or -1 for parity. */
  readonly dataIndexOfDisk: readonly number[];
}

/** Members that carry parity: 1 for RAID-4/5, 2 for RAID-6. */
export function parityDisks(level: number): number {
  return level === 6 ? 2 : 1;
}

/** The layout's name as mdadm prints it (e.g. "left-symmetric"). */
export function layoutName(level: number, layout: number): string {
  if (level === 4) return 'parity-last';
  const table = level === 6 ? [...R5_NAMES, ...R6_EXTRA] : R5_NAMES;
  return table.find(([, n]) => n === layout)?.[0] ?? `-unknown-(${layout})`;
}

/**
 * Parses a layout name (mdadm's names and its la/ra/ls/rs shorthands) or a number.
 * @throws RaidUsageError for a name the level does not have.
 */
export function parseLayout(level: number, name: string): number {
  const table = level === 6 ? [...R5_NAMES, ...R6_EXTRA] : R5_NAMES;
  const lower = name.toLowerCase();
  const hit = table.find(([n]) => n.toLowerCase() === lower);
  if (hit) return hit[1];
  if (lower in ALIASES) return ALIASES[lower]!;
  if (/^\d+$/.test(name) && table.some(([, n]) => n === Number(name))) return Number(name);
  throw new RaidUsageError(
    `--layout ${name} is not a RAID-${level} layout (one of: ${table.map(([n]) => n).join(', ')})`,
  );
}

/**
 * Checks a geometry is one md runs and this client implements.
 * @throws RaidUsageError naming the bad value.
 */
export function validateGeometry(g: Geometry): void {
  if (g.level !== 4 && g.level !== 5 && g.level !== 6) {
    throw new RaidUsageError(`RAID level ${g.level} is not supported (4, 5 and 6 are)`);
  }
  const min = g.level === 6 ? 4 : 3;
  // 255 blocks is async_gen_syndrome's limit; the DDF layouts add two slots.
  const max = g.level === 6 && isDdf(g.layout) ? 253 : 255;
  if (!Number.isInteger(g.raidDisks) || g.raidDisks < min || g.raidDisks > max) {
    throw new RaidUsageError(`RAID-${g.level} needs ${min} to ${max} members, not ${g.raidDisks}`);
  }
  if (g.level !== 4 && layoutName(g.level, g.layout).startsWith('-unknown')) failLayout(g);
  const c = g.chunkSectors;
  // md: a power of two, a multiple of the 4 KiB page.
  if (!Number.isInteger(c) || c < 8 || (c & (c - 1)) !== 0 || c > 2 * 1024 * 1024) {
    throw new RaidUsageError(`chunk size ${c * 512} bytes is not a power of two from 4 KiB to 1 GiB`);
  }
}

function failLayout(g: Geometry): never {
  throw new RaidUsageError(`layout ${g.layout} is not a RAID-${g.level} layout`);
}

function isDdf(layout: number): boolean {
  return layout === 8 || layout === 9 || layout === 10;
}

/** Data members per chunk row. */
export function dataDiskCount(g: Geometry): number {
  return g.raidDisks - parityDisks(g.level);
}

/**
 * raid5_compute_sector for one chunk row: P, Q and the member of the k-th data
 * chunk, for every k. Follows the kernel case by case.
 */
function computeRow(g: Geometry, stripe: number): { pd: number; qd: number; ddf: boolean; dataDisks: number[] } {
  const n = g.raidDisks;
  const dataDisks = n - parityDisks(g.level);
  const out: number[] = [];
  let pd = -1;
  let qd = -1;
  let ddf = false;
  for (let k = 0; k < dataDisks; k++) {
    let dd = k;
    if (g.level === 4) {
      pd = dataDisks;
    } else if (g.level === 5) {
      switch (g.layout) {
        case Algorithm.LeftAsymmetric:
          pd = dataDisks - (stripe % n);
          if (dd >= pd) dd++;
          break;
        case Algorithm.RightAsymmetric:
          pd = stripe % n;
          if (dd >= pd) dd++;
          break;
        case Algorithm.LeftSymmetric:
          pd = dataDisks - (stripe % n);
          dd = (pd + 1 + dd) % n;
          break;
        case Algorithm.RightSymmetric:
          pd = stripe % n;
          dd = (pd + 1 + dd) % n;
          break;
        case Algorithm.Parity0:
          pd = 0;
          dd++;
          break;
        case Algorithm.ParityN:
          pd = dataDisks;
          break;
        default:
          failLayout(g);
      }
    } else {
      switch (g.layout) {
        case Algorithm.LeftAsymmetric:
        case Algorithm.RightAsymmetric:
        case Algorithm.RotatingZeroRestart:
        case Algorithm.RotatingNRestart: {
          // The last two are the DDF twins of right- and left-asymmetric; N_RESTART starts one row later.
          const s2 = g.layout === Algorithm.RotatingNRestart ? stripe + 1 : stripe;
          pd = g.layout === Algorithm.LeftAsymmetric || g.layout === Algorithm.RotatingNRestart ? n - 1 - (s2 % n) : s2 % n;
          qd = pd + 1;
          if (pd === n - 1) {
            dd++; // Q D D D P
            qd = 0;
          } else if (dd >= pd) dd += 2; // D D P Q D
          ddf = g.layout === Algorithm.RotatingZeroRestart || g.layout === Algorithm.RotatingNRestart;
          break;
        }
        case Algorithm.LeftSymmetric:
          pd = n - 1 - (stripe % n);
          qd = (pd + 1) % n;
          dd = (pd + 2 + dd) % n;
          break;
        case Algorithm.RightSymmetric:
          pd = stripe % n;
          qd = (pd + 1) % n;
          dd = (pd + 2 + dd) % n;
          break;
        case Algorithm.Parity0:
          pd = 0;
          qd = 1;
          dd += 2;
          break;
        case Algorithm.ParityN:
          pd = dataDisks;
          qd = dataDisks + 1;
          break;
        case Algorithm.RotatingNContinue:
          // left-symmetric with Q before P
          pd = n - 1 - (stripe % n);
          qd = (pd + n - 1) % n;
          dd = (pd + 1 + dd) % n;
          ddf = true;
          break;
        case Algorithm.LeftAsymmetric6:
          pd = dataDisks - (stripe % (n - 1));
          if (dd >= pd) dd++;
          qd = n - 1;
          break;
        case Algorithm.RightAsymmetric6:
          pd = stripe % (n - 1);
          if (dd >= pd) dd++;
          qd = n - 1;
          break;
        case Algorithm.LeftSymmetric6:
          pd = dataDisks - (stripe % (n - 1));
          dd = (pd + 1 + dd) % (n - 1);
          qd = n - 1;
          break;
        case Algorithm.RightSymmetric6:
          pd = stripe % (n - 1);
          dd = (pd + 1 + dd) % (n - 1);
          qd = n - 1;
          break;
        case Algorithm.Parity06:
          pd = 0;
          dd++;
          qd = n - 1;
          break;
        default:
          failLayout(g);
      }
    }
    out.push(dd);
  }
  return { pd, qd, ddf, dataDisks: out };
}

/**
 * Slots of the Q syndrome (set_syndrome_sources): md walks the members from
 * the one after Q (from member 0 when Q is last, and always in the DDF
 * layouts), numbering data members as it meets them; DDF layouts also count P
 * and Q, which leaves their slots as zero blocks.
 */
function syndromeSlots(n: number, pd: number, qd: number, ddf: boolean): { slotOfDisk: number[]; syndromeDisks: number } {
  const slotOfDisk = new Array<number>(n).fill(-1);
  const d0 = ddf || qd === n - 1 ? 0 : qd + 1;
  let count = 0;
  let i = d0;
  do {
    const slot = count;
    if (ddf) count++;
    if (i !== pd && i !== qd) {
      slotOfDisk[i] = slot;
      if (!ddf) count++;
    }
    i = (i + 1) % n;
  } while (i !== d0);
  return { slotOfDisk, syndromeDisks: ddf ? n : n - 2 };
}

/** Computes and caches row maps of one geometry; layouts repeat every raidDisks rows (or raidDisks-1). */
export class Layout {
  readonly geometry: Geometry;
  readonly dataDisks: number;
  readonly chunkBytes: number;
  private readonly period: number;
  private readonly rows: RowMap[] = [];

  constructor(g: Geometry) {
    validateGeometry(g);
    this.geometry = g;
    this.dataDisks = dataDiskCount(g);
    this.chunkBytes = g.chunkSectors * 512;
    // n·(n-1) is a common period of every algorithm (rotations by n or n-1).
    this.period = g.raidDisks * (g.raidDisks - 1);
  }

  /** The row map of chunk row `stripe`. */
  row(stripe: number): RowMap {
    const key = stripe % this.period;
    let r = this.rows[key];
    if (!r) {
      const g = this.geometry;
      const c = computeRow(g, key);
      const n = g.raidDisks;
      const { slotOfDisk, syndromeDisks } =
        g.level === 6 ? syndromeSlots(n, c.pd, c.qd, c.ddf) : { slotOfDisk: new Array<number>(n).fill(-1), syndromeDisks: 0 };
      const dataIndexOfDisk = new Array<number>(n).fill(-1);
      c.dataDisks.forEach((d, k) => (dataIndexOfDisk[d] = k));
      r = { pd: c.pd, qd: c.qd, dataDisks: c.dataDisks, slotOfDisk, syndromeDisks, dataIndexOfDisk };
      this.rows[key] = r;
    }
    return r;
  }

  /**
   * raid5_compute_sector: array sector → (member, member sector relative to data_offset).
   */
  mapSector(arraySector: number): { disk: number; memberSector: number; stripe: number; dataIndex: number } {
    const cs = this.geometry.chunkSectors;
    const chunkNumber = Math.floor(arraySector / cs);
    const chunkOffset = arraySector - chunkNumber * cs;
    const stripe = Math.floor(chunkNumber / this.dataDisks);
    const dataIndex = chunkNumber - stripe * this.dataDisks;
    const disk = this.row(stripe).dataDisks[dataIndex]!;
    return { disk, memberSector: stripe * cs + chunkOffset, stripe, dataIndex };
  }

  /** Array sector of data index k at `offsetInChunk` sectors in chunk row `stripe` (inverse of mapSector). */
  arraySector(stripe: number, dataIndex: number, offsetInChunk: number): number {
    return (stripe * this.dataDisks + dataIndex) * this.geometry.chunkSectors + offsetInChunk;
  }
}
