/**
 * The engine a command of the CLI or the benchmarks runs its parity work on. Apart from
 * flags.ts because it loads the client (and through it the kernels and the worker
 * engines): only the commands that compute import it, when they run.
 */
import { createClient, type AsyncTxClient } from '../client.js';
import type { EngineFlags } from './flags.js';

/** The client an array runs its parity work on, and what it is called in output. */
export interface Engine {
  readonly ops: AsyncTxClient;
  readonly label: string;
  close(): Promise<void>;
}

/**
 * A client for the flags: with neither flag, the inline path with no worker
 * threads (stripe buffers still come from the shared arena, so the kernels
 * run on them in place); with either, worker engines (default 'auto') under
 * the policy (default 'auto'). close() ends its threads.
 */
export function engineFor(flags: EngineFlags): Engine {
  const none = flags.workers === undefined && flags.policy === undefined;
  const policy = flags.policy ?? (none ? 'inline' : 'auto');
  const client = createClient({ workers: flags.workers ?? (none ? 0 : 'auto'), policy });
  const workers = client.devices().filter((d) => d.name !== 'software').reduce((n, d) => n + d.channels.length, 0);
  const label = workers === 0 ? 'inline (no workers)' : `${workers} worker${workers === 1 ? '' : 's'}, policy ${policy}`;
  return { ops: client, label, close: () => client.close() };
}
