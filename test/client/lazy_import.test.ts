/**
 * import('asynctx') does not load the client module (the scheduler, the
 * worker and fault drivers): a process that only calls the module-level
 * functions never pays for it, and the first createClient() loads it. Evidence:
 * the modules the process records (test/load_recorder.ts), and, in a run
 * without the recorder (which itself imports it), whether Node's
 * worker_threads, which only the worker driver uses, has been loaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { recordedRun } from '../load_recorder.js';

const INDEX = new URL('../../src/index.js', import.meta.url).href;

const CHILD = `
import { appendFileSync } from 'node:fs';
const line = (m) => 'mark ' + m + ' worker_threads=' + process.moduleLoadList.includes('NativeModule worker_threads') + '\\n';
const mark = (m) => (process.env.LOAD_RECORD ? appendFileSync(process.env.LOAD_RECORD, line(m)) : process.stdout.write(line(m)));
const a = await import(${JSON.stringify(INDEX)});
const d = a.allocBlock(4096);
await a.waitForAsyncTx(a.asyncXor(d, [a.allocBlock(4096), a.allocBlock(4096)], 0, 4096));
mark('first-op');
const c = a.createClient({ workers: 1 });
const names = c.devices().map((x) => x.name).join(',');
mark('created ' + names);
await c.close();
`;

it("import('asynctx') and a module-level op load no client module; createClient() loads it", () => {
  const cache = mkdtempSync(join(tmpdir(), 'asynctx-lazy-client-'));
  try {
    const env = { ...process.env, XDG_CACHE_HOME: cache, LOAD_RECORD: '' };
    const plain = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], { env, encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(plain.stdout.trim().split('\n'), ['mark first-op worker_threads=false', 'mark created worker,software worker_threads=true']);
    const r = recordedRun(['--input-type=module', '-e', CHILD], { env: { XDG_CACHE_HOME: cache } });
    assert.equal(r.status, 0, r.stderr);
    const first = r.lines.findIndex((l) => l.startsWith('mark first-op'));
    assert.ok(first > 0 && r.lines.some((l) => l.startsWith('mark created worker,software')), r.lines.join('\n'));
    const early = r.lines.slice(0, first).filter((l) => /\/dist\/src\/(client|client_options)\.js|\/dist\/src\/(drivers\/(worker|fault)|sched)\//.test(l));
    assert.deepEqual(early, [], 'the client module and what only it uses');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
