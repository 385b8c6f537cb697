/**
 * `createClient`'s options: what each means, and the check every one gets
 * before anything is built (STYLE 10: checked up front, messages that name
 * the option).
 */
import { availableParallelism } from 'node:os';
import { describe } from './async_tx/validate.js';
import { checkFaultOptions, type FaultOptions } from './drivers/fault/index.js';
import { WORKER_DEFAULTS, type WorkerChannelOptions } from './drivers/worker/index.js';
import { InvalidArgumentError } from './errors.js';
import { checkedPolicy, PLACEMENT_DEFAULTS, thresholdPolicy, type Policy, type PolicyName } from './sched/policy.js';

export interface ClientOptions {
  /** Worker threads: a number (0 = software path only), or 'auto' = one per spare core. Default 'auto'. */
  readonly workers?: number | 'auto';
  /**
   * Where operations run (default 'auto'): a PolicyName, or a Policy function
   * `(op, where) => channel | null` choosing from `where.channels`, the
   * client's capable engine channels (null = inline). Any other answer, or a
   * throw, fails that descriptor (InvalidArgumentError, or OperationError with
   * the thrown cause); nothing is written.
   */
  readonly policy?: PolicyName | Policy;
  /**
   * For policy 'auto': instead of the cost model, offload exactly the
   * operations that read at least this many source bytes (to the channel with
   * the least outstanding). Default: unset — the cost model decides.
   */
  readonly offloadThreshold?: number;
  /** Tuning of the worker rings (capacity, batch, moderation, lowWater, spinUs); see WORKER_DEFAULTS. */
  readonly engine?: Partial<WorkerChannelOptions>;
  /**
   * An engine descriptor outstanding longer than this many milliseconds fails
   * over: its engine is stopped first (so no late result lands) and the step
   * runs again elsewhere. Default 10 000 (PLACEMENT_DEFAULTS.timeoutMs).
   */
  readonly timeoutMs?: number;
  /**
   * Fault injection for tests and drills: wraps every worker channel in the
   * fault device (`fail`, `delay`, `crash`: probabilities per descriptor;
   * `delayMs`: [min, max]; `seed`; `rules`). Faults are always reported, and failed over.
   */
  readonly faults?: FaultOptions;
}

/** The options once checked, with their defaults applied. */
export interface CheckedOptions {
  readonly workers: number;
  /** What the scheduler runs: a named policy, or a function (the caller's, held to its contract, or the threshold rule). */
  readonly policy: PolicyName | Policy;
  readonly timeoutMs: number;
  readonly faults: FaultOptions | undefined;
  readonly engine: Partial<WorkerChannelOptions>;
}

const FN = 'createClient';
const ENGINE_KEYS: ReadonlySet<string> = new Set(Object.keys(WORKER_DEFAULTS));
const OPTION_KEYS: ReadonlySet<string> = new Set(['workers', 'policy', 'offloadThreshold', 'engine', 'timeoutMs', 'faults']);

/**
 * Checks `createClient`'s options and applies the defaults.
 * @throws InvalidArgumentError naming the option that is wrong (an unknown key, a bad engine tuning key included).
 */
export function checkOptions(options: unknown): CheckedOptions {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(`${FN}: options must be an object`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) throw new InvalidArgumentError(`${FN}: unknown option "${k}"`);
  const w = o.workers ?? 'auto';
  if (w !== 'auto' && (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 256)) {
    throw new InvalidArgumentError(`${FN}: options.workers must be an integer 0..256 or 'auto', got ${describe(w)}`);
  }
  const policy = checkPolicy(o.policy ?? 'auto', o.offloadThreshold);
  const timeoutMs = o.timeoutMs ?? PLACEMENT_DEFAULTS.timeoutMs;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 1) || !Number.isFinite(timeoutMs)) {
    throw new InvalidArgumentError(`${FN}: options.timeoutMs must be a number of milliseconds ≥ 1, got ${describe(timeoutMs)}`);
  }
  const faults = checkFaults(o.faults);
  const engine = checkEngine(o.engine ?? {});
  const workers = w === 'auto' ? Math.max(1, availableParallelism() - 1) : w;
  return { workers, policy, timeoutMs, faults, engine };
}

/** options.policy and options.offloadThreshold → what the scheduler runs. */
function checkPolicy(policy: unknown, threshold: unknown): PolicyName | Policy {
  if (policy !== 'auto' && policy !== 'inline' && policy !== 'offload' && typeof policy !== 'function') {
    throw new InvalidArgumentError(`${FN}: options.policy must be 'auto', 'inline', 'offload' or a function, got ${describe(policy)}`);
  }
  if (threshold !== undefined && (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 0)) {
    throw new InvalidArgumentError(`${FN}: options.offloadThreshold must be a non-negative integer, got ${describe(threshold)}`);
  }
  if (typeof policy === 'function') return checkedPolicy(policy as Policy, `${FN}: options.policy`);
  if (policy === 'auto' && threshold !== undefined) return thresholdPolicy(threshold as number);
  return policy;
}

function checkFaults(faults: unknown): FaultOptions | undefined {
  if (faults === undefined) return undefined;
  if (faults === null || typeof faults !== 'object') throw new InvalidArgumentError(`${FN}: options.faults must be an object`);
  checkFaultOptions(faults as FaultOptions, `${FN}: options.faults`);
  return faults as FaultOptions;
}

function checkEngine(engine: unknown): Partial<WorkerChannelOptions> {
  if (engine === null || typeof engine !== 'object') throw new InvalidArgumentError(`${FN}: options.engine must be an object`);
  // Refused like unknown top-level keys: a misspelt tuning key would otherwise be ignored silently.
  for (const [k, v] of Object.entries(engine)) {
    if (!ENGINE_KEYS.has(k)) throw new InvalidArgumentError(`${FN}: unknown option "engine.${k}" (known: ${[...ENGINE_KEYS].join(', ')})`);
    if (typeof v !== 'number') throw new InvalidArgumentError(`${FN}: options.engine.${k} must be a number, got ${describe(v)}`);
  }
  return engine as Partial<WorkerChannelOptions>;
}
