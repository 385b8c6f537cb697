/** What a device can do: a bit mask, like the kernel's dma_cap_mask_t. */
export const Capability = {
  Memcpy: 1 << 0,
  Memset: 1 << 1,
  Xor: 1 << 2,
  XorVal: 1 << 3,
  Pq: 1 << 4,
  PqVal: 1 << 5,
  Interrupt: 1 << 6,
  /** Transfers between memory and I/O targets (io_read, io_write): dmaengine's slave transfers. */
  Io: 1 << 7,
} as const;
export type CapabilityMask = number;

export const ALL_CAPABILITIES: CapabilityMask = Object.values(Capability).reduce((a, b) => a | b, 0);

/** Every capability a kernel provides: what runs on the calling thread (all but I/O). */
export const KERNEL_CAPABILITIES: CapabilityMask = ALL_CAPABILITIES & ~Capability.Io;

/** Names of the capabilities set in a mask, for display. */
export function capabilityNames(mask: CapabilityMask): string[] {
  return Object.entries(Capability)
    .filter(([, bit]) => (mask & bit) !== 0)
    .map(([name]) => name.replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase()));
}
