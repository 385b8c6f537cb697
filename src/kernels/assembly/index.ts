// The asynctx kernel module: every export is a stateless function over byte
// offsets into the one imported shared memory (see src/kernels/wasm.ts for
// the ABI as the loader uses it). No globals, data segments or start function.
export { xor, xor_l2, xor_l8, xor_pairs, xor_grouped, xor_zero, is_zero, equal, memcpy, memset } from './xor';
export {
  gen_syndrome, gen_syndrome_l2, gen_syndrome_sra, gen_syndrome_m16,
  xor_syndrome, xor_syndrome_l2, xor_syndrome_sra, xor_syndrome_m16,
  pq_check, pq_check_l2, pq_check_sra, pq_check_m16,
} from './syndrome';
export { mul_const, mul_acc, recov_2data, recov_datap } from './gfmul';
