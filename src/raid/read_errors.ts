/**
 * What md does after a member read fails and the stripe served the read from parity
 * (raid5.c handle_stripe with R5_ReadError, then raid5_end_read_request): the rebuilt bytes
 * are written back to the member (R5_ReWrite) and read again (R5_Wantread). A good rewrite
 * clears the range from the member's bad-block list and a good read-back counts the sectors
 * as corrected (cnt_corrected_read); a failed rewrite or read-back leaves them recorded. Here
 * the rewrite is the scrub step of the stripes holding the range (syncStripe rebuilds a
 * member's listed range and writes it back), run once the read is served.
 */
import type { RaidArray } from './array.js';
import { syncStripe } from './handle.js';
import type { MemberIo } from './member_io.js';
import { badBlocksOf } from './member_table.js';
import { SECTOR } from './superblock.js';

/** Rewrites, and reads back, every range that failed a read since the last call. */
export async function mendReadErrors(array: RaidArray, io: MemberIo): Promise<void> {
  if (array.readonly) {
    io.readErrors.length = 0;
    return;
  }
  for (const e of io.readErrors.splice(0)) {
    const d = array.table.slots.findIndex((s) => s.device === e.dev && s.state !== 'faulty');
    if (d < 0) continue;
    const name = e.dev.member.name;
    const first = e.sector - e.dev.sb.dataOffset;
    try {
      await rewrite(array, first, e.sectors);
    } catch (err) {
      array.log(`read error not corrected (${e.sectors} sectors at ${e.sector} on ${name}): ${(err as Error).message}`);
      continue;
    }
    if (badBlocksOf(e.dev).has(e.sector, e.sectors)) {
      array.log(`read error not corrected (${e.sectors} sectors at ${e.sector} on ${name}): the rewrite failed; recorded as bad blocks`);
      continue;
    }
    try {
      await io.readBack(e.dev, e.sector, e.sectors);
      e.dev.sb.cntCorrectedRead += e.sectors;
      array.log(`read error corrected (${e.sectors} sectors at ${e.sector} on ${name})`);
    } catch {
      array.log(`read error NOT corrected (${e.sectors} sectors at ${e.sector} on ${name}): recorded as bad blocks`);
      if (!badBlocksOf(e.dev).add(e.sector, e.sectors)) array.failSlot(d, `bad-block log of ${name} is full`);
    }
  }
}

/** The scrub step over member sectors [first, first+sectors) (from the data offset), head by head. */
async function rewrite(array: RaidArray, first: number, sectors: number): Promise<void> {
  const unitSectors = array.unit / SECTOR;
  for (let s = first; s < first + sectors; ) {
    const head = Math.floor(s / unitSectors) * unitSectors;
    const end = Math.min(first + sectors, head + unitSectors);
    const sh = await array.cache.acquire(head);
    try {
      await syncStripe(array.env, sh, (s - head) * SECTOR, (end - head) * SECTOR, 'check');
    } finally {
      array.cache.release(sh);
    }
    s = end;
  }
}
