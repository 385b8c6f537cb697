/**
 * md's re-add of a member that left the array, with a write-intent bitmap
 * (md.c super_1_validate, raid5_add_disk): a device that held slot S and
 * comes back while S is empty, with events no older than the bitmap's
 * events_cleared, returns to S with recovery guided by the bitmap
 * (RECOVERY_BITMAP): only chunks written since it left are rebuilt. Older
 * than events_cleared, bits it needed may have been cleared: it is added as a
 * new member and recovered fully.
 */
import type { RaidArray } from './array.js';
import { BadBlockSet } from './badblock_set.js';
import type { Member } from './member.js';
import { readMemberBadBlocks } from './member_logs.js';
import type { MemberDevice } from './member_table.js';
import { encodeSuperblock, formatUuid, ownRole, SECTOR, type Superblock } from './superblock.js';

/**
 * Re-adds `member`, whose own superblock is `previous`, to its old slot of `array`.
 * @returns the slot, or -1 when it is not a re-add (the caller adds it as a new member).
 */
export async function reAddMember(array: RaidArray, member: Member, previous: Superblock): Promise<number> {
  const intent = array.intent;
  const table = array.table;
  const m = table.master;
  if (!intent || formatUuid(previous.setUuid) !== formatUuid(m.setUuid)) return -1;
  const role = ownRole(previous);
  const slot = table.slots[role];
  if (!slot || (slot.state !== 'missing' && slot.state !== 'faulty')) return -1;
  if (previous.events < intent.eventsCleared || previous.events > m.events) {
    array.log(`${member.name} left slot ${role} before the bitmap was last cleared (events ${previous.events}, cleared ${intent.eventsCleared}): added as a new member, full recovery`);
    return -1;
  }
  const number = previous.devNumber;
  if (table.slots.some((s) => s !== slot && s.device?.sb.devNumber === number) || table.spares.some((d) => d.sb.devNumber === number)) return -1;
  // md's super_1_load: the member brings its bad-block list back with it.
  const badBlocks = BadBlockSet.forSuperblock(previous, await readMemberBadBlocks(member, previous));
  const dev: MemberDevice = { member, sb: { ...previous, devRoles: [...previous.devRoles] }, badBlocks };
  table.slots[role] = { device: dev, state: 'recovering', recoveryOffset: 0, bitmapSync: true };
  array.cache.invalidateAll();
  await intent.writeAllTo(dev);
  const own = table.deviceSuperblock(dev, role);
  own.events = m.events;
  await member.write(encodeSuperblock(own), own.superOffset * SECTOR);
  dev.sb = own;
  await array.updateSuperblocks();
  array.log(`${member.name} re-added to slot ${role}; rebuild recovers the chunks the write-intent bitmap marks dirty`);
  return role;
}
