/**
 * From a byte request on the array to stripe-head jobs: which heads the
 * request touches, with the caller's bytes for each member (`stripeJobs`),
 * and running them as many at once as the stripe cache holds (`runJobs`).
 */
import type { Extent } from './handle.js';
import type { Layout } from './layout.js';
import type { StripeCache, StripeHead } from './stripe.js';
import { SECTOR } from './superblock.js';

/** One job of a request: the extents of one stripe head. */
export interface StripeJob {
  /** The head's member sector (from data_offset). */
  sector: number;
  extents: Extent[];
}

/**
 * The stripe heads `unit` bytes wide that [offset, offset+length) of the
 * array touches, in order, with the caller's bytes (`user`, whose byte 0 is
 * array byte `offset`) for each member.
 */
export function* stripeJobs(layout: Layout, unit: number, user: Uint8Array, offset: number, length: number): Generator<StripeJob> {
  const cb = layout.chunkBytes;
  const dd = layout.dataDisks;
  const rowBytes = cb * dd;
  const end = offset + length;
  let pos = offset;
  while (pos < end) {
    const stripe = Math.floor(pos / rowBytes);
    const rowStart = stripe * rowBytes;
    const rowEnd = Math.min(end, rowStart + rowBytes);
    const row = layout.row(stripe);
    for (let u = 0; u * unit < cb; u++) {
      const extents: Extent[] = [];
      for (let k = 0; k < dd; k++) {
        const a = rowStart + k * cb + u * unit;
        const lo = Math.max(a, pos);
        const hi = Math.min(a + unit, rowEnd);
        if (lo < hi) extents.push({ disk: row.dataDisks[k]!, lo: lo - a, hi: hi - a, user, userOffset: lo - offset });
      }
      if (extents.length) yield { sector: (stripe * cb + u * unit) / SECTOR, extents };
    }
    pos = rowEnd;
  }
}

/**
 * Runs `fn` on each job's stripe head, as many at once as the cache holds;
 * the first error stops new jobs and is thrown once the started ones end.
 */
export async function runJobs(cache: StripeCache, jobs: Iterable<StripeJob>, fn: (sh: StripeHead, extents: Extent[]) => Promise<void>): Promise<void> {
  const active = new Set<Promise<void>>();
  let error: unknown = null;
  for (const job of jobs) {
    if (error) break;
    const p: Promise<void> = (async () => {
      const sh = await cache.acquire(job.sector);
      try {
        await fn(sh, job.extents);
      } finally {
        cache.release(sh);
      }
    })().catch((e: unknown) => {
      error ??= e;
    });
    active.add(p);
    void p.then(() => active.delete(p));
    if (active.size >= cache.capacity) await Promise.race(active);
  }
  await Promise.all(active);
  if (error) throw error;
}
