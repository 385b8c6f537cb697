/**
 * import('asynctx') pays no kernel selection: the kernels are compiled, and
 * the selection run (and remembered), only when the first operation needs a
 * kernel. Evidence is the order of the process's own record
 * (test/load_recorder.ts): marks the child writes between its steps, and the
 * WebAssembly compiles, with a fresh selection-cache directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { recordedRun } from '../load_recorder.js';

const INDEX = new URL('../../src/index.js', import.meta.url).href;

const CHILD = `
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const mark = (m) => appendFileSync(process.env.LOAD_RECORD, 'mark ' + m + ' cache=' + existsSync(join(process.env.XDG_CACHE_HOME, 'asynctx', 'kernels.json')) + '\\n');
const a = await import(${JSON.stringify(INDEX)});
mark('imported');
const src = new Uint8Array(4096).fill(5);
const dst = new Uint8Array(4096);
a.asyncXor(dst, [src, src, src], 0, 4096, { flags: a.TxFlags.XorZeroDst });
if (dst[0] !== 5 || dst[4095] !== 5) throw new Error('xor gave the wrong bytes');
mark('first-op');
`;

it("import('asynctx') compiles and selects no kernel until the first operation", () => {
  const cache = mkdtempSync(join(tmpdir(), 'asynctx-lazy-'));
  try {
    const r = recordedRun(['--input-type=module', '-e', CHILD], { env: { XDG_CACHE_HOME: cache } });
    assert.equal(r.status, 0, r.stderr);
    const events = r.lines.filter((l) => l.startsWith('mark ') || l === 'wasm compile');
    const imported = events.indexOf('mark imported cache=false');
    assert.ok(imported >= 0, events.join('\n'));
    assert.ok(r.modules.some((u) => u.endsWith('/dist/src/kernels/index.js')), 'the kernels module itself is loaded (it is cheap); its work is not');
    assert.deepEqual(events.slice(0, imported), [], 'nothing compiled before the import returned');
    const first = events.indexOf('mark first-op cache=true');
    assert.ok(first > imported + 1, `compiled and selected (remembered) by the first operation:\n${events.join('\n')}`);
    assert.ok(events.slice(imported + 1, first).every((e) => e === 'wasm compile'));
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
