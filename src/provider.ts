/**
 * asynctx provider API: what an engine (a dmaengine "device") implements.
 * Exposed as `asynctx/provider`; drivers import only this.
 */
export * from './dmaengine/index.js';
export { OperationError, AsyncTxError } from './errors.js';
export type { Block, Slot, KernelSet } from './kernels/types.js';
export { activeKernels } from './kernels/index.js';
