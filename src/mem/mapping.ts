/**
 * Mapping domains (DESIGN §1, lesson 3): making a buffer reachable by an
 * engine before a step runs and releasing it after, as dma_map/dma_unmap do
 * for a device.
 *
 * The arena domain is what worker engines reach: the shared arena.
 * - An arena block is in the domain already and is used in place: no copy.
 * - Any other Uint8Array is *bounced*: `map` copies it into a fresh arena
 *   block before the step that reads it (only if the step reads it), and
 *   `unmap` copies it back after the step that writes it (outputs only).
 *   The order is the safe one by construction: a step is mapped when it is
 *   submitted to its channel, which for a dependent step happens after its
 *   parent completed, and a parent completes only after its unmap. So along
 *   copy → xor on two engines: copy-map, copy-run, copy-unmap, xor-map, …
 *
 * Map once along a chain (what we do, and what we chose not to):
 * - When a step and its child both run in this domain, the child reuses the
 *   parent's bounce block for every view it names with the very same bytes
 *   (buffer, offset, length): no second copy-in. The parent's mapping is
 *   *carried* to the child (`carry`), keyed by the child's operation object,
 *   so nothing else can pick it up; what the child does not reuse is freed as
 *   soon as the child is mapped (or, if it never is, right after its start).
 * - Outputs are still copied out after *each* step that writes them, not only
 *   at the chain's end: a step's callback and `waitForAsyncTx` on it see its
 *   bytes, exactly as on the synchronous path. Deferring copy-out to the
 *   chain's end would save those copies but make intermediate results stale
 *   for anyone who looks, and views that overlap without being identical
 *   would then need flushing; we kept results identical instead.
 * - The rule this relies on is DMA's: a non-arena buffer given to a chain
 *   belongs to the chain until its last step completes; writing it from a
 *   callback in the middle of the chain is not seen by later steps that
 *   reuse the bounce block.
 */
import type { Arena } from './arena.js';

/** The offset `map` gives a null slot. */
export const NULL_OFFSET = -1;

/** The block is read by the step (copy in before it). */
export const ROLE_IN = 1;
/** The block is written by the step (copy out after it). */
export const ROLE_OUT = 2;

/** A step's blocks, by index, and what the step does with each. */
export interface BlockList {
  readonly count: number;
  /** Block `index`, or null for a null slot. */
  block(index: number): Uint8Array | null;
  /** ROLE_IN and/or ROLE_OUT. */
  role(index: number): number;
}

/** A bounced view and its arena copy. */
interface Bounce {
  readonly view: Uint8Array;
  /** The arena block, or null once ownership moved to a child's mapping. */
  block: Uint8Array | null;
  roles: number;
  /** Allocated for this step (false: reused from the parent, the bytes are there already). */
  readonly fresh: boolean;
}

/** One step's mapping: the arena offset of each block, and the bounces to unmap and free. */
export class Mapping {
  /** Set while a child holds this mapping: release() leaves the blocks to the carry. */
  carried = false;
  constructor(
    /** Arena byte offset per block of the list given to map (NULL_OFFSET for a null slot). */
    readonly offsets: readonly number[],
    readonly bounces: readonly Bounce[],
  ) {}

  /** Bytes copied into the arena for this step. */
  get bouncedBytes(): number {
    let n = 0;
    for (const b of this.bounces) n += b.view.length;
    return n;
  }
}

/** Counters of a domain. */
export interface MappingStats {
  /** Blocks used in place (already in the arena). */
  inPlace: number;
  /** Blocks bounced through the arena. */
  bounced: number;
  /** Bytes copied into the arena. */
  bytesIn: number;
  /** Bytes copied back out. */
  bytesOut: number;
  /** Copy-ins saved by reusing a parent's bounce block along a chain. */
  reused: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

export class MappingDomain {
  readonly stats: MappingStats = { inPlace: 0, bounced: 0, bytesIn: 0, bytesOut: 0, reused: 0 };
  /** Parent mappings waiting for their child to be mapped, by the child's operation object. */
  private readonly carries = new WeakMap<object, Mapping>();
  /** How many carries are outstanding: most steps skip the lookup. */
  private carrying = 0;
  private readonly buffer: ArrayBufferLike;
  private readonly dataOffset: number;

  /** @param arena the memory the domain's engines reach */
  constructor(readonly arena: Arena) {
    this.buffer = arena.buffer;
    this.dataOffset = arena.header.dataOffset;
  }

  /** Whether `view` is reachable in place (Arena.isArenaBlock, without the call: this runs per block). */
  reaches(view: Uint8Array): boolean {
    return view.buffer === this.buffer && view.byteOffset >= this.dataOffset;
  }

  /**
   * Maps a step's blocks. `blocks.role(i)` says whether block i is read,
   * written or both; views naming the very same bytes share one bounce block
   * (an in-place xor's dest and source), with their roles combined.
   * @param key the operation object, to find a mapping carried from the parent
   * @returns null when every block is in the domain already (used in place:
   *   offsets are the views' byteOffsets), else the mapping.
   * @throws ArenaExhaustedError when a bounce block cannot be allocated (nothing stays allocated).
   */
  map(blocks: BlockList, key: object): Mapping | null {
    const n = blocks.count;
    let inPlace = 0;
    let present = 0;
    for (let i = 0; i < n; i++) {
      const view = blocks.block(i);
      if (view === null) continue;
      present++;
      if (this.reaches(view)) inPlace++;
    }
    this.stats.inPlace += inPlace;
    const carried = this.carrying > 0 ? this.takeCarry(key) : undefined;
    if (inPlace === present) {
      if (carried !== undefined) this.endCarry(carried);
      return null;
    }
    const offsets = new Array<number>(n);
    const bounces: Bounce[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const view = blocks.block(i);
        if (view === null) offsets[i] = NULL_OFFSET;
        else if (this.reaches(view)) offsets[i] = view.byteOffset;
        else offsets[i] = this.bounce(view, blocks.role(i), bounces, carried).byteOffset;
      }
    } catch (err) {
      this.free(bounces);
      if (carried !== undefined) this.endCarry(carried);
      throw err;
    }
    // Copy in after every block is allocated, so a failed allocation wrote nothing.
    for (const b of bounces) if (b.fresh && b.roles & ROLE_IN) this.copyIn(b);
    if (carried !== undefined) this.endCarry(carried);
    return new Mapping(offsets, bounces);
  }

  /** The bounce block for `view` in this step: shared with a same-bytes view, reused from the parent, or new. */
  private bounce(view: Uint8Array, role: number, bounces: Bounce[], carried: Mapping | undefined): Uint8Array {
    for (const b of bounces) {
      if (sameBytes(b.view, view)) {
        b.roles |= role;
        return b.block!;
      }
    }
    if (carried !== undefined) {
      for (const c of carried.bounces) {
        if (c.block !== null && sameBytes(c.view, view)) {
          // Ownership moves to this step; the bytes are already there (see the file comment).
          const moved: Bounce = { view, block: c.block, roles: role, fresh: false };
          c.block = null;
          bounces.push(moved);
          this.stats.reused++;
          return moved.block!;
        }
      }
    }
    const b: Bounce = { view, block: this.arena.allocBlock(view.length), roles: role, fresh: true };
    bounces.push(b);
    this.stats.bounced++;
    return b.block!;
  }

  private copyIn(b: Bounce): void {
    b.block!.set(b.view);
    this.stats.bytesIn += b.view.length;
  }

  /** After the step ran: copies its written bounced blocks back to the caller's buffers. */
  unmap(m: Mapping): void {
    for (const b of m.bounces) {
      if (b.roles & ROLE_OUT && b.block !== null) {
        b.view.set(b.block);
        this.stats.bytesOut += b.view.length;
      }
    }
  }

  /**
   * Hands a completed step's mapping to its child, whose operation object is
   * `childKey`: the child's `map` reuses its bounce blocks. Call between the
   * parent's unmap and release. If the child is never mapped in this domain,
   * the carry must be ended (`dropCarry`) once the child has started.
   */
  carry(m: Mapping, childKey: object): void {
    if (m.bounces.length === 0) return;
    m.carried = true;
    this.carries.set(childKey, m);
    this.carrying++;
  }

  /** Ends a carry the child did not take (it ran elsewhere, or failed before mapping). */
  dropCarry(childKey: object): void {
    const m = this.takeCarry(childKey);
    if (m !== undefined) this.endCarry(m);
  }

  private takeCarry(key: object): Mapping | undefined {
    const m = this.carries.get(key);
    if (m !== undefined) {
      this.carries.delete(key);
      this.carrying--;
    }
    return m;
  }

  private endCarry(m: Mapping): void {
    m.carried = false;
    this.free(m.bounces);
  }

  /** Frees the step's bounce blocks, unless a child holds them. */
  release(m: Mapping): void {
    if (!m.carried) this.free(m.bounces);
  }

  private free(bounces: readonly Bounce[]): void {
    for (const b of bounces) {
      if (b.block !== null) {
        this.arena.freeBlock(b.block);
        b.block = null;
      }
    }
  }
}

const domains = new WeakMap<Arena, MappingDomain>();

/** The one domain of an arena: every engine on it shares it, so chains across them map once. */
export function arenaDomain(arena: Arena): MappingDomain {
  let d = domains.get(arena);
  if (d === undefined) {
    d = new MappingDomain(arena);
    domains.set(arena, d);
  }
  return d;
}
