/**
 * The default ops of an array: the module-level functions of the consumer API
 * (software path). A module of its own so that loading it — the submit path,
 * the kernels, the arena — is the choice of whoever needs it (ops.ts).
 */
import * as asyncTx from '../async_tx/index.js';
import type { RaidOps } from './ops.js';

export const defaultRaidOps: RaidOps = asyncTx as unknown as RaidOps;
