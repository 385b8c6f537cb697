/**
 * The names the kernel bench's flags take (ops, modes, clocks, the peer), apart from the
 * measurements (kernel_run.ts) so that defining `asynctx bench` loads no kernel.
 */
export const BENCH_OPS = ['memcpy', 'memset', 'xor', 'xor_val', 'pq', 'pq_val', 'raid6_2data', 'raid6_datap'] as const;
export type BenchOp = (typeof BENCH_OPS)[number];
export type BenchMode = 'hot' | 'cold';

/**
 * wall: elapsed time. cpu: the smaller of elapsed time and this process's CPU
 * time, which leaves out the stretches when other processes had the core (on
 * a shared machine), at the cost of also counting V8's background threads.
 */
export type BenchClock = 'wall' | 'cpu';

/** The peer library of the P+Q row (not a dependency: used when installed). */
export const PEER_NAME = '@ronomon/reed-solomon';
