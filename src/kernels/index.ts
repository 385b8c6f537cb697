/**
 * The kernels the library runs. `activeKernels()` is what the synchronous path
 * and every engine call; the scalar reference set is always available.
 */
import { scalarKernels } from './scalar.js';
import type { KernelSet } from './types.js';

export type { Block, KernelSet, Slot } from './types.js';
export { scalarKernels } from './scalar.js';

/** The kernel set in use on this thread. */
export function activeKernels(): KernelSet {
  return scalarKernels;
}
