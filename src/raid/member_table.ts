/**
 * Who holds each RAID slot, and the superblocks that record it. Kept apart from
 * the I/O path: the array asks here whether a member can be read or written,
 * marks members faulty, and has every member's superblock rewritten (events
 * bumped) whenever that picture or the clean/dirty state changes, as md's
 * md_update_sb does.
 */
import { BadBlockSet } from './badblock_set.js';
import { SuperblockError } from './errors.js';
import type { Member } from './member.js';
import {
  encodeSuperblock,
  Feature,
  MAX_SECTOR,
  MAX_U64_FIELD,
  ROLE_FAULTY,
  ROLE_SPARE,
  SECTOR,
  type Superblock,
} from './superblock.js';

export type RaidSlotState = 'in_sync' | 'recovering' | 'faulty' | 'missing';

/** A member device in the array: its handle and its own superblock (device fields). */
export interface MemberDevice {
  readonly member: Member;
  sb: Superblock;
  /** Its bad-block list (loaded at assembly; made empty from `sb` on first use otherwise). */
  badBlocks?: BadBlockSet;
}

/** The device's bad-block list, created empty (with its log's capacity) when it has none yet. */
export function badBlocksOf(dev: MemberDevice): BadBlockSet {
  dev.badBlocks ??= BadBlockSet.forSuperblock(dev.sb);
  return dev.badBlocks;
}

export interface RaidSlot {
  device: MemberDevice | null;
  state: RaidSlotState;
  /** Member sectors (from data_offset) already rebuilt, while recovering. */
  recoveryOffset: number;
  /** Being recovered from the write-intent bitmap (a re-added member): only dirty chunks are rebuilt (md's RECOVERY_BITMAP). */
  bitmapSync?: boolean;
}

function nowParts(): { sec: number; usec: number } {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), usec: (ms % 1000) * 1000 };
}

export class MemberTable {
  readonly slots: RaidSlot[];
  readonly spares: MemberDevice[] = [];
  /** Array-wide superblock values (uuid, name, geometry, events, resync offset). */
  readonly master: Superblock;
  private updating: Promise<void> = Promise.resolve();
  /**
   * Runs in every update after the events bump and the flush, before any
   * superblock is written: the write-intent bitmap's header (md_update_sb
   * calls md_bitmap_update_sb there). Must not throw.
   */
  beforeSuperblocks: (() => Promise<void>) | null = null;

  constructor(master: Superblock, raidDisks: number) {
    this.master = master;
    this.slots = Array.from({ length: raidDisks }, () => ({ device: null, state: 'missing' as RaidSlotState, recoveryOffset: 0 }));
  }

  /** Member sectors (from data_offset) the slot holds current bytes for: all in sync, the rebuilt part while recovering, none otherwise. */
  readableSectors(slot: number): number {
    const s = this.slots[slot]!;
    return s.state === 'in_sync' ? Infinity : s.state === 'recovering' ? s.recoveryOffset : 0;
  }

  writable(slot: number): boolean {
    const s = this.slots[slot]!;
    return s.device !== null && (s.state === 'in_sync' || s.state === 'recovering');
  }

  /** Slots that cannot serve reads at all (missing or faulty). */
  failedCount(): number {
    return this.slots.filter((s) => s.state === 'missing' || s.state === 'faulty').length;
  }

  /** Slots not fully in sync (missing, faulty or being rebuilt). */
  degradedCount(): number {
    return this.slots.filter((s) => s.state !== 'in_sync').length;
  }

  /** Role table as md's super_1_sync writes it: unknown device numbers are spares (0xffff, kernel 6.x). */
  roles(): number[] {
    const roles = new Array<number>(this.master.maxDev).fill(ROLE_SPARE);
    this.slots.forEach((s, i) => {
      if (!s.device) return;
      roles[s.device.sb.devNumber] = s.state === 'faulty' ? ROLE_FAULTY : i;
    });
    for (const d of this.spares) roles[d.sb.devNumber] = ROLE_SPARE;
    return roles;
  }

  /** Devices that get superblock updates: everything present and not faulty. */
  private liveDevices(): Array<{ dev: MemberDevice; slot: number }> {
    const out: Array<{ dev: MemberDevice; slot: number }> = [];
    this.slots.forEach((s, i) => s.device && s.state !== 'faulty' && out.push({ dev: s.device, slot: i }));
    for (const d of this.spares) out.push({ dev: d, slot: -1 });
    return out;
  }

  /**
   * A device number no present device uses, for a member added to a running
   * array: the first free one from raid_disks up, as md numbers it
   * (bind_rdev_to_array; mdadm --add gives 4 to a member added to a 4-member array
   * whose number 2 was freed); below raid_disks only when max_dev has no room above.
   */
  freeDevNumber(): number {
    const used = new Set<number>();
    for (const s of this.slots) if (s.device) used.add(s.device.sb.devNumber);
    for (const d of this.spares) used.add(d.sb.devNumber);
    const n = this.slots.length;
    for (let i = n; i < this.master.maxDev; i++) if (!used.has(i)) return i;
    for (let i = 0; i < Math.min(n, this.master.maxDev); i++) if (!used.has(i)) return i;
    return -1;
  }

  /** The superblock of one device as it should be on disk now. */
  deviceSuperblock(dev: MemberDevice, slot: number): Superblock {
    const m = this.master;
    const own = dev.sb;
    const s = slot >= 0 ? this.slots[slot] : undefined;
    const recovering = s?.state === 'recovering';
    // md's super_1_sync: the bitmap is array-wide; recovery from it is recorded per device.
    const bitmap = m.featureMap & Feature.BitmapOffset;
    const recovery = recovering ? Feature.RecoveryOffset | (bitmap && s!.bitmapSync ? Feature.RecoveryBitmap : 0) : 0;
    // The bad-block bit is the device's own: set while its list has entries (super_1_sync). A
    // device whose list was not loaded is new here (its superblock copied from another's).
    const bad = badBlocksOf(dev).featureBit();
    return {
      ...m,
      minorVersion: own.minorVersion,
      // The consistency policy is the array's (md's super_1_sync); recovery progress is the device's own.
      featureMap: recovery | bad | (m.featureMap & (Feature.BitmapOffset | Feature.Ppl | Feature.MultiplePpls)),
      dataOffset: own.dataOffset,
      dataSize: own.dataSize,
      superOffset: own.superOffset,
      recoveryOffset: recovering ? s!.recoveryOffset : 0,
      devNumber: own.devNumber,
      cntCorrectedRead: own.cntCorrectedRead,
      deviceUuid: own.deviceUuid,
      devflags: own.devflags,
      bblogShift: own.bblogShift,
      bblogSize: own.bblogSize,
      bblogOffset: own.bblogOffset,
      devRoles: this.roles(),
    };
  }

  /**
   * Bumps events and rewrites every live device's superblock. Calls are
   * serialised. A device whose write fails is reported through `onFail`
   * (which marks it faulty) and the others are written again without it.
   */
  update(change: (m: Superblock) => void, onFail: (dev: MemberDevice, err: unknown) => void): Promise<void> {
    const run = async () => {
      // Checked before anything is written: a bump past the bound would leave
      // superblocks that no reader (md's or ours) accepts.
      if (this.master.events + this.slots.length + 1 > MAX_U64_FIELD) {
        throw new SuperblockError(`the events counter (${this.master.events}) is exhausted: superblocks cannot be updated`);
      }
      change(this.master);
      for (let round = 0; round < this.slots.length + 1; round++) {
        const t = nowParts();
        this.master.events += 1;
        this.master.utime = t.sec;
        this.master.utimeUsec = t.usec;
        const live = this.liveDevices();
        // md writes superblocks with REQ_PREFLUSH | REQ_FUA: every member's earlier
        // data is durable before any superblock changes (a clean mark never
        // outlives the writes it vouches for), and the superblock is durable
        // before the caller goes on (a dirty mark precedes the data it covers).
        await Promise.allSettled(live.map(({ dev }) => dev.member.sync()));
        if (this.beforeSuperblocks) await this.beforeSuperblocks();
        const results = await Promise.allSettled(
          live.map(async ({ dev, slot }) => {
            const sb = this.deviceSuperblock(dev, slot);
            const bytes = encodeSuperblock(sb);
            dev.sb = sb;
            // md_update_sb writes the changed bad-block log with the superblock that points at it.
            const log = dev.badBlocks?.pendingLog();
            if (log?.bytes) await dev.member.write(log.bytes, (sb.superOffset + sb.bblogOffset) * SECTOR);
            await dev.member.write(bytes, sb.superOffset * SECTOR);
            await dev.member.sync();
            if (log) dev.badBlocks!.written(log.version);
          }),
        );
        let failed = false;
        results.forEach((r, i) => {
          if (r.status === 'rejected') {
            failed = true;
            onFail(live[i]!.dev, r.reason);
          }
        });
        if (!failed) return;
      }
    };
    const p = this.updating.then(run, run);
    this.updating = p.catch(() => undefined);
    return p;
  }

  /** Resolves when queued superblock updates are written. */
  settled(): Promise<void> {
    return this.updating;
  }
}

/** A new, random device uuid. */
export function newDeviceUuid(): Uint8Array {
  // Web Crypto's global: node:crypto would be loaded by every command that assembles, for a uuid few of them make.
  return globalThis.crypto.getRandomValues(new Uint8Array(16));
}

export { MAX_SECTOR };
