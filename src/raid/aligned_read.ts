/**
 * md's chunk_aligned_read: a read inside one chunk whose member holds current bytes there goes
 * straight to that member, past the stripe cache (no head to wait for, no copy).
 */
import { MemberIOError } from './errors.js';
import type { Layout } from './layout.js';
import type { MemberIo } from './member_io.js';
import type { MemberTable } from './member_table.js';
import { SECTOR } from './superblock.js';

/**
 * Reads `view.length` bytes at array byte `offset` from the one member that holds them.
 * @returns false when it cannot (the read crosses a chunk, the member is missing, not rebuilt
 *   that far or has bad blocks there) or the member failed under it: the stripe path then
 *   serves the read, rebuilding from parity.
 */
export async function readChunkAligned(layout: Layout, table: MemberTable, io: MemberIo, view: Uint8Array, offset: number): Promise<boolean> {
  const cb = layout.chunkBytes;
  if (Math.floor(offset / cb) !== Math.floor((offset + view.length - 1) / cb)) return false;
  const { disk, memberSector } = layout.mapSector(Math.floor(offset / SECTOR));
  const memberByte = memberSector * SECTOR + (offset % SECTOR);
  if (table.readableSectors(disk) * SECTOR < memberByte + view.length) return false;
  if (io.badRanges(disk, memberByte, view.length).length > 0) return false;
  try {
    await io.io(disk, false, view, memberByte);
    return true;
  } catch (err) {
    if (err instanceof MemberIOError) return false;
    throw err;
  }
}
