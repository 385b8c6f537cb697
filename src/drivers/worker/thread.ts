/** Starting a worker thread for a channel. */
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './protocol.js';

/**
 * Starts the worker entry (compiled next to this file, dist/src/drivers/worker/worker.js),
 * unref'd: an engine never keeps the process alive by itself.
 */
export function spawnWorker(init: WorkerInit): Worker {
  // postMessage of workerData orders every write to the ring made before this call.
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, name: `asynctx ${init.name}`, execArgv: workerExecArgv() });
  worker.unref();
  return worker;
}

/**
 * The node options a worker inherits, less those that only make sense for
 * the main script (`node --input-type=module -e …` would make every worker fail).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '--input-type') i++;
    else if (!a.startsWith('--input-type=') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}
