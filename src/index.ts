/**
 * asynctx — the consumer API. Engines are in `asynctx/provider`.
 *
 * The client module (createClient: the scheduler, the worker and fault
 * drivers) is loaded on the first createClient() call, not by the import: a
 * process that only calls the module-level functions never loads it. Node
 * loads an ES module synchronously by require() from 20.19 and 22.12 on;
 * on an older Node it is loaded with this module, as before.
 */
import { createRequire } from 'node:module';
import type * as Client from './client.js';

export * from './async_tx/index.js';
export * from './errors.js';
export { gfMul, gfPow2, gfInv, gfExp, gfLog, GF_POLY, GF_GENERATOR } from './gf/index.js';
export type { AsyncTxClient, ClientOptions, DeviceInfo, EngineStats, PlacementContext, Policy, PolicyName } from './client.js';

const CLIENT = './client.js';
let client: typeof Client | null = process.features.require_module ? null : ((await import(CLIENT)) as typeof Client);

/**
 * Creates a client with its own engines.
 * @param options see ClientOptions: workers, policy, offloadThreshold, engine, timeoutMs, faults
 * @throws InvalidArgumentError naming the option that is wrong (a bad engine tuning value included).
 * @throws ArenaExhaustedError / ArenaConfigError when the shared arena cannot hold the workers' scratch.
 */
export function createClient(options?: Client.ClientOptions): Client.AsyncTxClient {
  client ??= createRequire(import.meta.url)(CLIENT) as typeof Client;
  return client.createClient(options);
}
