// Compiles the AssemblyScript kernels (src/kernels/assembly) into dist/kernels
// with the package's own assemblyscript, so `npm install` is all it takes.
//
// Two memory variants of one source, each in release and debug form:
//   asynctx.wasm          imports a *shared* memory: the arena, used in place and by workers;
//   asynctx.private.wasm  imports a plain memory: the per-thread bounce area for ops on plain
//                         buffers (JS copies into a SharedArrayBuffer run at a fraction of
//                         memcpy speed, copies into a plain one do not).
// Both import `env.memory` and nothing else, and declare limits 1..65536 pages so any arena
// size fits. Skipped when the sources, this script and the compiler are unchanged.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'kernels', 'assembly');
const outDir = join(root, 'dist', 'kernels');
const entry = relative(root, join(srcDir, 'index.ts'));
const ascPkg = join(root, 'node_modules', 'assemblyscript', 'package.json');

const common = [
  '--runtime', 'stub', // no managed heap: kernels never allocate
  '--use', 'abort=', // no abort import: nothing to import but the memory
  '--enable', 'simd',
  '--enable', 'threads',
  '--importMemory',
  '--noExportMemory',
  '--initialMemory', '1',
  '--maximumMemory', '65536',
];
const release = ['-O3', '--shrinkLevel', '0', '--converge', '--noAssert', '--uncheckedBehavior', 'always'];
// Debug keeps names, source maps and unoptimized code; the one pass drops the empty
// function table the compiler always emits, so both builds have the same sections.
const debug = ['--debug', '--optimizeLevel', '0', '--runPasses', 'remove-unused-module-elements'];

const targets = [
  { out: 'asynctx.wasm', text: 'asynctx.wat', flags: [...release, '--sharedMemory'] },
  { out: 'asynctx.private.wasm', flags: [...release] },
  { out: 'asynctx.debug.wasm', text: 'asynctx.debug.wat', flags: [...debug, '--sharedMemory', '--sourceMap'] },
  { out: 'asynctx.private.debug.wasm', flags: [...debug] },
];

function sourceHash() {
  const h = createHash('sha256');
  for (const name of readdirSync(srcDir).sort()) h.update(name).update(readFileSync(join(srcDir, name)));
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  h.update(readFileSync(ascPkg));
  return h.digest('hex');
}

const stampFile = join(outDir, '.stamp');
const hash = sourceHash();
const outputs = targets.flatMap((t) => [t.out, ...(t.text ? [t.text] : [])]);
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash && outputs.every((f) => existsSync(join(outDir, f)))) {
  process.exit(0);
}

mkdirSync(outDir, { recursive: true });
const asc = (await import('assemblyscript/asc')).default;
for (const t of targets) {
  const argv = [entry, '--baseDir', root, '-o', relative(root, join(outDir, t.out)), ...common, ...t.flags];
  if (t.text) argv.push('-t', relative(root, join(outDir, t.text)));
  // asc reports its diagnostics on our stderr itself.
  const { error } = await asc.main(argv, { stdout: process.stdout, stderr: process.stderr });
  if (error) {
    console.error(`build_kernels: ${t.out}: ${error.message}`);
    process.exit(1);
  }
}
writeFileSync(stampFile, hash);
console.log(`build_kernels: ${targets.map((t) => t.out).join(', ')} -> ${relative(root, outDir)}/`);
