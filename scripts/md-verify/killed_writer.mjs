// The asynctx writer of the md-verify crash cases (ppl_writer.mjs, bitmap_writer.mjs), run as a
// child process and killed with SIGKILL mid-write: shared by ppl_cases.mjs and bitmap_crash.mjs.
import { spawn } from 'node:child_process';
import { basename } from 'node:path';

/**
 * Runs `node script ...args` until it has printed "ACK i" for i >= `acks`, then kills it with
 * SIGKILL. Resolves with the last acknowledged index; rejects when the writer exits by itself.
 */
export function killedWriter(script, args, acks) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = -1;
    let buf = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) if (l.startsWith('ACK ')) acked = Number(l.slice(4));
      if (acked >= acks && !child.killed) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`${basename(script, '.mjs')} exited ${code}: ${err.trim()}`))));
  });
}
