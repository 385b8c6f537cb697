/**
 * `asynctx/raid`: md-compatible RAID-4/5/6 arrays on the async_tx consumer
 * API. Assemble an array from its members (files or block devices, memory,
 * NBD exports) or create one, read and write it by byte, check, repair,
 * resync and rebuild it, print it as mdadm would, and serve it over NBD.
 * Arrays made here assemble in Linux md, and md's assemble here.
 *
 * This is what a user of the RAID library calls; the rest of src/raid (the
 * superblock codec, the stripe cache and planner, the array's internals) is
 * the package's own.
 */
export { assemble, readSuperblock, type AssembleOptions, type Assembled } from './raid/assemble.js';
export { create, type CreateOptions } from './raid/create.js';
export { RaidArray, type RaidArrayOptions } from './raid/array.js';
export type { RaidSlot, RaidSlotState, MemberDevice } from './raid/member_table.js';
export type { MemberQueueStats } from './raid/member_queue.js';
export { FileMember, MemoryMember, type Member, type FileMemberOptions, type MemoryFaults } from './raid/member.js';
export { NbdMember, isNbdUri, parseNbdUri, type NbdMemberOptions } from './raid/nbd_member.js';
export { scrub, resync, rebuild, type PassOptions, type PassResult } from './raid/resync.js';
export { setConsistencyPolicy } from './raid/consistency.js';
export { detailText, detailJson, examineText } from './raid/report.js';
export { Layout, layoutName, parseLayout, type Geometry, type RowMap } from './raid/layout.js';
export type { RaidOps } from './raid/ops.js';
export type { Superblock } from './raid/superblock.js';
export { ArrayTarget } from './raid/nbd_target.js';
export { NbdServer, ListenError, type ListenAddress, type NbdServerOptions } from './nbd/index.js';
export {
  RaidError,
  RaidUsageError,
  SuperblockError,
  UnsupportedFeatureError,
  AssemblyError,
  MemberIOError,
  ArrayFailedError,
  ArrayStateError,
  UnreadableRangeError,
} from './raid/errors.js';
export { NbdUriError } from './raid/nbd_member.js';
export { NbdTimeoutError, NbdRequestError } from './nbd/index.js';
