/**
 * asynctx — the consumer API. Engines are in `asynctx/provider`.
 */
export * from './async_tx/index.js';
export * from './errors.js';
export { gfMul, gfPow2, gfInv, gfExp, gfLog, GF_POLY, GF_GENERATOR } from './gf/index.js';
export {
  createClient, type AsyncTxClient, type ClientOptions, type DeviceInfo, type EngineStats, type PlacementContext, type Policy, type PolicyName,
} from './client.js';
