/**
 * PPL recovery at assembly (raid5-ppl.c ppl_load_distributed, ppl_recover,
 * ppl_recover_entry): on a dirty array, each member's newest valid header is
 * found and every entry whose partial parity checksum holds is applied —
 * parity = partial parity ⊕ the logged data chunks as they are on disk —
 * skipping rows where a logged chunk cannot be read. Then, dirty or not,
 * every log is emptied. A dirty array whose recovery applied entries and met
 * no bad one is clean afterwards, as md marks it; otherwise it stays dirty
 * (a resync follows where the array is whole).
 */
import type { RaidArray } from './array.js';
import { MemberIOError } from './errors.js';
import { findNewestHeader, PPL_HEADER_SIZE, crc32c, validatePplArea, type PplEntry } from './ppl.js';
import { MAX_SECTOR, SECTOR } from './superblock.js';

export interface PplRecovery {
  /** Entries applied. */
  readonly recovered: number;
  /** Entries with a bad checksum or shape, and members without a valid header (md's mismatch_count). */
  readonly mismatches: number;
}

function xorInto(dst: Uint8Array, src: Uint8Array): void {
  for (let i = 0; i < src.length; i++) dst[i] ^= src[i]!;
}

async function memberRead(array: RaidArray, d: number, buf: Uint8Array, position: number): Promise<void> {
  const dev = array.table.slots[d]!.device!;
  try {
    await dev.member.read(buf, position);
  } catch (err) {
    const e = new MemberIOError(`PPL recovery read failed on member ${d} (${dev.member.name}): ${(err as Error).message}`, d, { cause: err });
    array.markFaulty(d, e);
    throw e;
  }
}

/** The rows an entry covers, as ppl_recover_entry reads them. Null for an entry md could not mean. */
function entryShape(array: RaidArray, e: PplEntry): { first: number; last: number; disks: number; strip: number } | null {
  const g = array.layout.geometry;
  const cs = g.chunkSectors;
  const all = array.layout.dataDisks;
  let disks: number;
  let strip: number;
  let last: number;
  if (e.ppSize / SECTOR < cs) {
    if (e.ppSize > 0) {
      disks = Math.floor(e.dataSize / e.ppSize);
      strip = e.ppSize / SECTOR;
    } else {
      disks = all;
      strip = Math.floor(e.dataSize / SECTOR / all);
    }
    last = e.dataSector + (disks - 1) * cs + strip;
  } else {
    disks = all;
    strip = cs;
    last = e.dataSector + e.dataSize / SECTOR;
  }
  const ok = Number.isInteger(strip) && strip > 0 && disks >= 1 && disks <= all && (e.dataSector % cs) + strip <= cs && last <= array.size / SECTOR;
  return ok ? { first: e.dataSector, last, disks, strip } : null;
}

/** Applies one entry of member `d`'s log. False when md would not apply it (it is counted as a mismatch). */
async function recoverEntry(array: RaidArray, d: number, e: PplEntry, pp: Uint8Array): Promise<boolean> {
  const shape = entryShape(array, e);
  if (!shape) return false;
  const cs = array.layout.geometry.chunkSectors;
  const parityAt = array.layout.mapSector(shape.first);
  const row = array.layout.row(parityAt.stripe);
  if (row.pd !== e.parityDisk || row.pd !== d) return false;
  const acc = new Uint8Array(shape.strip * SECTOR);
  // Per sector of the strip: some logged chunk covers it (update), and every one that does was read (ok).
  const update = new Uint8Array(shape.strip);
  const ok = new Uint8Array(shape.strip).fill(1);
  for (let k = 0; k < shape.disks; k++) {
    const base = shape.first + k * cs;
    const limit = Math.min(shape.strip, shape.last - base);
    if (limit <= 0) continue;
    update.fill(1, 0, limit);
    const at = array.layout.mapSector(base);
    const slot = array.table.slots[at.disk]!;
    const readableTo = slot.state === 'in_sync' ? Infinity : slot.state === 'recovering' ? slot.recoveryOffset - at.memberSector : 0;
    if (readableTo < limit) ok.fill(0, Math.max(0, readableTo), limit);
    if (readableTo <= 0) continue;
    const buf = new Uint8Array(Math.min(limit, readableTo) * SECTOR);
    await memberRead(array, at.disk, buf, (slot.device!.sb.dataOffset + at.memberSector) * SECTOR);
    xorInto(acc, buf);
  }
  if (e.ppSize > 0) xorInto(acc, pp.subarray(0, acc.length));
  const dev = array.table.slots[d]!.device!;
  for (let i = 0; i < shape.strip; ) {
    if (!(update[i] && ok[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j < shape.strip && update[j] && ok[j]) j++;
    await dev.member.write(acc.subarray(i * SECTOR, j * SECTOR), (dev.sb.dataOffset + parityAt.memberSector + i) * SECTOR);
    i = j;
  }
  return true;
}

/** Recovers member `d`'s log: its newest header's entries. */
async function recoverMember(array: RaidArray, d: number, signature: number): Promise<PplRecovery> {
  const dev = array.table.slots[d]!.device!;
  const area = validatePplArea(dev.sb, Math.floor(dev.member.size / SECTOR));
  const readAt = async (sector: number, bytes: number) => {
    const buf = new Uint8Array(bytes);
    await memberRead(array, d, buf, sector * SECTOR);
    return buf;
  };
  const { found } = await findNewestHeader((at) => readAt(area.sector + at, PPL_HEADER_SIZE), area.size, signature);
  if (!found) return { recovered: 0, mismatches: 1 };
  let recovered = 0;
  let mismatches = 0;
  let ppAt = area.sector + found.at + PPL_HEADER_SIZE / SECTOR;
  for (const e of found.header.entries) {
    const pp = e.ppSize > 0 ? await readAt(ppAt, e.ppSize) : new Uint8Array(0);
    ppAt += Math.floor(e.ppSize / SECTOR);
    if (crc32c(pp) !== e.checksum || !(await recoverEntry(array, d, e, pp))) mismatches++;
    else recovered++;
  }
  // md flushes each member after its recovery.
  await dev.member.sync();
  return { recovered, mismatches };
}

/**
 * Starts the PPL of a freshly assembled array: recovery when it is dirty,
 * then an empty log on every member. Reports through `warnings`.
 * @returns what recovery did (zeros when the array was clean).
 */
export async function startPpl(array: RaidArray, warnings: string[]): Promise<PplRecovery> {
  const ppl = array.ppl;
  if (!ppl) return { recovered: 0, mismatches: 0 };
  let total = { recovered: 0, mismatches: 0 };
  if (array.dirty) {
    for (let d = 0; d < array.slots.length; d++) {
      const s = array.slots[d]!;
      if (!s.device || s.state === 'faulty' || s.state === 'missing') continue;
      try {
        const r = await recoverMember(array, d, ppl.signature);
        total = { recovered: total.recovered + r.recovered, mismatches: total.mismatches + r.mismatches };
      } catch (err) {
        if (!(err instanceof MemberIOError)) throw err;
        total = { ...total, mismatches: total.mismatches + 1 };
      }
    }
    warnings.push(`PPL recovery: ${total.recovered} entries applied, ${total.mismatches} not usable`);
  }
  await ppl.writeEmpty();
  if (array.dirty && total.recovered > 0 && total.mismatches === 0) {
    array.needsResync = false;
    await array.updateSuperblocks((m) => (m.resyncOffset = MAX_SECTOR));
  }
  return total;
}
