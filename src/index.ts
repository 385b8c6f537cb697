/**
 * asynctx — the consumer API. Engines are in `asynctx/provider`.
 */
export * from './async_tx/index.js';
export * from './errors.js';
export { gfMul, gfPow2, gfInv, gfExp, gfLog, GF_POLY, GF_GENERATOR } from './gf/index.js';
