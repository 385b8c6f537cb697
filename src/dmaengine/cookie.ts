/**
 * Descriptor cookies, as dmaengine numbers them: per channel, starting at 1,
 * wrapping from the largest signed 32-bit value back to 1.
 */
export const DmaStatus = {
  Complete: 0,
  InProgress: 1,
  Paused: 2,
  Error: 3,
} as const;
export type DmaStatus = (typeof DmaStatus)[keyof typeof DmaStatus];

export const DMA_MIN_COOKIE = 1;
export const DMA_MAX_COOKIE = 0x7fffffff;

/** The cookie after `cookie`, wrapping to DMA_MIN_COOKIE. */
export function nextCookie(cookie: number): number {
  return cookie >= DMA_MAX_COOKIE || cookie < DMA_MIN_COOKIE ? DMA_MIN_COOKIE : cookie + 1;
}

/**
 * Whether `cookie` has completed, given a channel's last completed and last
 * used cookies — dma_async_is_complete, wrap-around included.
 */
export function isComplete(cookie: number, lastComplete: number, lastUsed: number): DmaStatus {
  if (lastComplete <= lastUsed) {
    if (cookie <= lastComplete || cookie > lastUsed) return DmaStatus.Complete;
  } else if (cookie <= lastComplete && cookie > lastUsed) {
    return DmaStatus.Complete;
  }
  return DmaStatus.InProgress;
}
