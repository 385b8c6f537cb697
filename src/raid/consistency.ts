/**
 * Switching an array's consistency policy between resync and ppl, as mdadm
 * --grow --consistency-policy does: for ppl, each member's log area is placed
 * where mdadm's update_super1 "ppl" puts it (4 KiB past a 1.1/1.2 superblock
 * up to the bad-block log or the data, 1 MiB at most; before a 1.0
 * superblock), the area is cleared with an empty header (write_init_ppl), and
 * the superblocks record it; for resync, the PPL bits go.
 */
import type { RaidArray } from './array.js';
import { checkPplCreate } from './create.js';
import { ArrayStateError, RaidUsageError } from './errors.js';
import { hasPpl, isMultiplePpl, PPL_AREA_SECTORS, PPL_HEADER_SIZE, pplUnion, validatePplArea } from './ppl.js';
import { Ppl } from './ppl_write.js';
import { Feature, SECTOR, type Superblock } from './superblock.js';

/** mdadm's choose_ppl_space: a header and a chunk of partial parity, at least 128 KiB. */
function choosePplSpace(chunkSectors: number): number {
  return PPL_HEADER_SIZE / SECTOR + Math.max(chunkSectors, 256);
}

/**
 * Where mdadm puts the area on a member with this superblock (offset from the
 * superblock and size, in sectors).
 * @throws RaidUsageError when there is no room (mdadm: "Not enough space to add ppl").
 */
export function pplPlacement(sb: Superblock): { offset: number; size: number } {
  let offset: number;
  let space: number;
  if (sb.superOffset < sb.dataOffset) {
    offset = 8;
    space = sb.bblogOffset > 0 ? sb.bblogOffset - 8 : sb.dataOffset - sb.superOffset - 8;
  } else {
    offset = Math.max(-32768, -(sb.superOffset - sb.dataOffset - sb.dataSize));
    space = -(offset - sb.bblogOffset);
  }
  if (space < PPL_HEADER_SIZE / SECTOR + 8) throw new RaidUsageError(`not enough space to add a PPL (${space} sectors between the superblock and the data)`);
  const size = space >= PPL_AREA_SECTORS ? PPL_AREA_SECTORS : Math.min(space, choosePplSpace(sb.chunkSize));
  return { offset, size };
}

/**
 * Sets the consistency policy of a running array. Switching to ppl needs
 * RAID-5 and no bitmap or journal; every member present gets an empty log.
 * @throws RaidUsageError (level, features, no room), ArrayStateError (read-only).
 */
export async function setConsistencyPolicy(array: RaidArray, policy: 'ppl' | 'resync'): Promise<void> {
  if (array.readonly) throw new ArrayStateError('the array is read-only');
  const m = array.table.master;
  await array.drain();
  if (policy === 'resync') {
    if (!hasPpl(m)) return;
    array.ppl = null;
    await array.updateSuperblocks((s) => {
      s.featureMap &= ~(Feature.Ppl | Feature.MultiplePpls);
      s.bitmapOffset = 0;
    });
    return;
  }
  if (hasPpl(m)) return;
  checkPplCreate(m.level, m.raidDisks);
  if (m.featureMap & (Feature.BitmapOffset | Feature.Journal)) throw new RaidUsageError('cannot add a PPL to an array with a write-intent bitmap or a journal (md refuses both)');
  const devices = [...array.slots.map((s) => s.device), ...array.table.spares].filter((d) => d !== null);
  const ref = devices[0]!.sb;
  const { offset, size } = pplPlacement(ref);
  const union = pplUnion(offset, size);
  const feature = isMultiplePpl(size) ? Feature.MultiplePpls : Feature.Ppl;
  // Every member must take the same area (the superblocks record one), as md would check it.
  for (const d of devices) validatePplArea({ ...d.sb, featureMap: feature, bitmapOffset: union }, Math.floor(d.member.size / SECTOR));
  for (const d of devices) d.sb = { ...d.sb, featureMap: d.sb.featureMap | feature, bitmapOffset: union };
  m.featureMap |= feature;
  m.bitmapOffset = union;
  const ppl = new Ppl(array);
  await ppl.writeEmpty();
  array.ppl = ppl;
  await array.updateSuperblocks();
}
