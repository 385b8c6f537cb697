// Builds everything from a fresh clone with the package's own tools:
// the AssemblyScript kernels (when present) first, then the TypeScript.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${[cmd, ...args].join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

const kernels = join(root, 'scripts', 'build_kernels.mjs');
if (existsSync(kernels)) run(process.execPath, [kernels]);
// Compiled output of a source that was renamed or deleted must not linger (the test runner
// would still find it); tsc's incremental build never removes it, so it is pruned here.
function pruneOrphans(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { pruneOrphans(p); continue; }
    const base = name.replace(/(\.d)?\.(js|ts)(\.map)?$/, '');
    const src = join(root, relative(join(root, 'dist'), dir), base + '.ts');
    if (base !== name && !existsSync(src)) rmSync(p);
  }
}
for (const dir of ['src', 'test', 'bench']) pruneOrphans(join(root, 'dist', dir));
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);

