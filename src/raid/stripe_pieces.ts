/**
 * A stripe head's members' bad blocks as the stripe handlers need them: per member, the byte
 * ranges of the head that its list holds, and requests cut where such a range begins or ends,
 * so that each piece is planned with one set of unavailable members.
 */
import type { Extent, StripeEnv } from './handle.js';
import type { Range, StripeHead } from './stripe.js';
import { SECTOR } from './superblock.js';

/** Per member, the head's byte ranges its bad-block list holds; undefined when no member lists any there. */
export function badOf(env: StripeEnv, sh: StripeHead): Range[][] | undefined {
  if (!env.badRanges) return undefined;
  const bad = sh.valid.map((_, d) => env.badRanges!(d, sh.sector * SECTOR, sh.unit));
  return bad.some((r) => r.length > 0) ? bad : undefined;
}

/** Whether member `disk` lists bad blocks in bytes [lo, hi) of the head. */
export function listedBad(env: StripeEnv, sh: StripeHead, disk: number, lo: number, hi: number): boolean {
  return env.badRanges !== undefined && env.badRanges(disk, sh.sector * SECTOR + lo, hi - lo).length > 0;
}

/**
 * [lo, hi) cut where a member's bad range begins or ends, so that each piece has one set of
 * unavailable members (md decides per 4 KiB stripe; a bad sector must not make a whole head
 * of another member's range unreadable).
 */
export function pieces(env: StripeEnv, sh: StripeHead, lo: number, hi: number): Array<[number, number]> {
  const bad = badOf(env, sh);
  if (!bad) return [[lo, hi]];
  const cuts = new Set<number>([lo, hi]);
  for (const list of bad) for (const r of list) for (const c of [r.lo, r.hi]) if (c > lo && c < hi) cuts.add(c);
  const sorted = [...cuts].sort((a, b) => a - b);
  return sorted.slice(1).map((c, i) => [sorted[i]!, c]);
}

/** The extents cut into the pieces of `pieces`, each piece's parts together. */
export function extentPieces(env: StripeEnv, sh: StripeHead, extents: readonly Extent[]): Extent[][] {
  const lo = Math.min(...extents.map((e) => e.lo));
  const hi = Math.max(...extents.map((e) => e.hi));
  const parts = pieces(env, sh, lo, hi);
  if (parts.length === 1) return [[...extents]];
  return parts
    .map(([a, b]) =>
      extents.flatMap((e): Extent[] => {
        const l = Math.max(a, e.lo);
        const h = Math.min(b, e.hi);
        return l < h ? [{ ...e, lo: l, hi: h, userOffset: e.userOffset + (l - e.lo) }] : [];
      }),
    )
    .filter((p) => p.length > 0);
}
