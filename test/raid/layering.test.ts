/**
 * DESIGN §2: the RAID client uses the consumer API (and nbd/), never the
 * provider API or what lies below it. Read from the sources, so type-only
 * imports count too.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
/** Rooms below the consumer API, and the tiers the client must not reach around it. */
const FORBIDDEN = /^(dmaengine|drivers|kernels|sched|mem|gf|cli)\/|^(provider|client)\.ts$/;
const SPECIFIER = /\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g;

/** Every relative module specifier in `source` (static, re-export and dynamic), as written. */
function specifiers(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((m) => m[1]!).filter((s) => s.startsWith('.'));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** `file`'s imports that land in a forbidden room, as 'file -> target' under src/. */
function violations(file: string, source: string): string[] {
  return specifiers(source)
    .map((s) => relative(SRC, resolve(dirname(file), s)).replace(/\.js$/, '.ts'))
    .filter((target) => FORBIDDEN.test(target))
    .map((target) => `${relative(SRC, file)} -> ${target}`);
}

describe('src/raid imports only the consumer side', () => {
  it('no module under src/raid imports dmaengine/, drivers/, kernels/, sched/, mem/, gf/ or the provider entry', () => {
    const files = tsFiles(join(SRC, 'raid'));
    assert.ok(files.length > 20, `found the RAID sources (${files.length})`);
    assert.deepEqual(files.flatMap((f) => violations(f, readFileSync(f, 'utf8'))), []);
  });

  it('control: the scan sees static, re-export, type-only and dynamic imports of the provider', () => {
    const file = join(SRC, 'raid', 'x.ts');
    const source = [
      "import { Channel } from '../dmaengine/index.js';",
      "export { DmaStatus } from '../dmaengine/cookie.js';",
      "import type { Device } from '../provider.js';",
      "const w = await import('../drivers/worker/index.js');",
      "import { TxFlags } from '../async_tx/constants.js';",
    ].join('\n');
    assert.deepEqual(violations(file, source), [
      'raid/x.ts -> dmaengine/index.ts',
      'raid/x.ts -> dmaengine/cookie.ts',
      'raid/x.ts -> provider.ts',
      'raid/x.ts -> drivers/worker/index.ts',
    ]);
  });
});
