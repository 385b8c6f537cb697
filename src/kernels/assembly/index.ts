// The asynctx kernel module: every export is a stateless function over byte
// offsets into the one imported shared memory (see src/kernels/wasm.ts for
// the ABI as the loader uses it). No globals, data segments or start function.
export { xor, xor_zero, is_zero, equal, memcpy, memset } from './xor';
export { gen_syndrome, xor_syndrome, pq_check } from './syndrome';
export { mul_const, mul_acc, recov_2data, recov_datap } from './gfmul';
