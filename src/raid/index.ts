/**
 * md-compatible RAID-4/5/6 on the async_tx consumer API: superblocks, layouts,
 * members, the stripe cache, assembly, creation, and whole-array passes.
 */
export * from './errors.js';
export * from './superblock.js';
export { Algorithm, Layout, layoutName, parseLayout, parityDisks, validateGeometry, type Geometry, type RowMap } from './layout.js';
export { FileMember, MemoryMember, QueueDepth, type Member, type FileMemberOptions, type MemoryFaults } from './member.js';
export { NbdMember, NbdUriError, isNbdUri, parseNbdUri, NBD_DEFAULT_PORT, type NbdMemberOptions } from './nbd_member.js';
export { NbdTimeoutError, NbdRequestError } from '../nbd/index.js';
export type { RaidOps } from './ops.js';
export { defaultRaidOps } from './default_ops.js';
export { DEFAULT_MERGE_BYTES, MemberQueue, type MemberQueueOptions, type MemberQueueStats } from './member_queue.js';
export { RaidArray, type RaidArrayOptions } from './array.js';
export type { RaidSlot, RaidSlotState, MemberDevice } from './member_table.js';
export { assemble, readSuperblock, type AssembleOptions, type Assembled } from './assemble.js';
export { setConsistencyPolicy, pplPlacement } from './consistency.js';
export { create, checkPplCreate, PPL_MAX_DISKS, defaultDataOffset, defaultComponentSize, chooseBitmapSpace, internalBitmapGeometry, bitmapSectors, AUTO_BITMAP_SECTORS, DEFAULT_BITMAP_DELAY, type CreateOptions, type MetadataVersion } from './create.js';
export { WriteIntent, loadWriteIntent, memberSpan, type ChunkRange, type WriteIntentEnv } from './write_intent.js';
export { scrub, resync, rebuild, type PassOptions, type PassResult } from './resync.js';
export { examineText, detailText, detailJson, humanSize, ctimeString, stateWords } from './report.js';
export {
  decodeBitmapSuper, encodeBitmapSuper, bitmapBits, bitIsSet, dirtyChunks, bitmapExamineText, bitmapExamineJson, bitmapLocation,
  BITMAP_MAGIC, type BitmapSuper,
} from './bitmap.js';
export { decodeBadBlocks, encodeBadBlocks, badBlocksText, type BadBlock } from './badblocks.js';
export { readMemberBitmap, readMemberBadBlocks } from './member_logs.js';
export { BadBlockSet } from './badblock_set.js';
export { consistencyPolicy } from './report.js';
