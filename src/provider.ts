/**
 * asynctx provider API: what an engine (a dmaengine "device") implements.
 * Exposed as `asynctx/provider`; drivers import only this.
 */
export * from './dmaengine/index.js';
export { OperationError, AsyncTxError, DependencyFailedError, InvalidArgumentError, IoError, OutOfRangeError } from './errors.js';
export type { Block, Slot, KernelSet } from './kernels/types.js';
export { activeKernels } from './kernels/index.js';
export { composeKernels, createWasmKernelSet, kernels, MIN_SCRATCH_BYTES, scalarKernels, type KernelOp } from './kernels/index.js';
export { Arena, arena, type Region } from './mem/index.js';
export { arenaDomain, Mapping, MappingDomain, NULL_OFFSET, ROLE_IN, ROLE_OUT, type BlockList, type MappingStats } from './mem/mapping.js';
/** Seeded randomness for engines that inject faults or delays reproducibly. */
export { seededRandom } from './random.js';
