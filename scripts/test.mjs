// Runs every compiled test file under dist/test with node's built-in runner.
// Node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testRoot = join(root, 'dist', 'test');
const filter = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files = walk(testRoot, []);
if (filter.length) files = files.filter((f) => filter.some((s) => relative(root, f).includes(s)));
if (files.length === 0) {
  console.error('test: no test files found under dist/test');
  process.exit(1);
}
// The kernel-selection cache goes to a throw-away directory: tests never touch the real home.
const cache = mkdtempSync(join(tmpdir(), 'asynctx-test-cache-'));
const r = spawnSync(process.execPath, ['--test', ...files], { cwd: root, stdio: 'inherit', env: { ...process.env, XDG_CACHE_HOME: cache } });
rmSync(cache, { recursive: true, force: true });
process.exit(r.status ?? 1);
