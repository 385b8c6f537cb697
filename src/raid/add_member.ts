/**
 * md's add of a new device (add_new_disk, raid5_add_disk): a member with no place in the array
 * yet takes the first missing slot (else a faulty one) and is rebuilt, or becomes a spare. Its
 * superblock is written with md's layout for its size. A member returning to its old slot with
 * the bitmap's help is a re-add instead (re_add.ts).
 */
import type { RaidArray } from './array.js';
import { RaidUsageError } from './errors.js';
import type { Member } from './member.js';
import { newDeviceUuid, type MemberDevice } from './member_table.js';
import { encodeSuperblock, SECTOR, type Superblock } from './superblock.js';

/**
 * Adds `member` to `array` as a new device (its md superblock, if any, is overwritten).
 * @returns the slot it takes as a member being rebuilt (run rebuild()), or -1 for a spare.
 * @throws RaidUsageError (no free device number, too small, a 1.0 array).
 */
export async function addNewMember(array: RaidArray, member: Member): Promise<number> {
  const table = array.table;
  const m = table.master;
  const ref = table.slots.find((s) => s.device)?.device?.sb ?? m;
  const devNumber = table.freeDevNumber();
  if (devNumber < 0) throw new RaidUsageError('no free device number in the superblock');
  const devSectors = Math.floor(member.size / SECTOR);
  if (devSectors < ref.dataOffset + m.size) {
    throw new RaidUsageError(`${member.name} is too small: ${devSectors} sectors, needs ${ref.dataOffset + m.size}`);
  }
  const sb: Superblock = { ...ref, devNumber, deviceUuid: newDeviceUuid(), dataSize: devSectors - ref.dataOffset, cntCorrectedRead: 0 };
  if (ref.minorVersion === 0) throw new RaidUsageError('adding to a 1.0 (metadata at end) array is not supported');
  const dev: MemberDevice = { member, sb };
  // An empty slot first; a faulty member is replaced only when no slot is empty.
  let slot = table.slots.findIndex((s) => s.state === 'missing');
  if (slot < 0) slot = table.slots.findIndex((s) => s.state === 'faulty');
  if (slot >= 0) {
    table.slots[slot] = { device: dev, state: 'recovering', recoveryOffset: 0 };
    array.cache.invalidateAll();
  } else {
    table.spares.push(dev);
  }
  // Write its superblock first so that the role recorded elsewhere never points at a blank device.
  const own = table.deviceSuperblock(dev, slot);
  own.events = m.events;
  await member.write(encodeSuperblock(own), own.superOffset * SECTOR);
  dev.sb = own;
  // A member in a slot holds a copy of the bitmap (spares do not, as in md).
  if (slot >= 0) await array.intent?.writeAllTo(dev);
  await array.updateSuperblocks();
  array.log(slot >= 0 ? `${member.name} added to slot ${slot}; rebuild needed` : `${member.name} added as a spare`);
  return slot;
}
