#!/usr/bin/env node
// The `asynctx` command. The TypeScript sources are built into dist/ by `npm install`.
import('../dist/src/cli/main.js').then(
  (cli) => cli.main(process.argv),
  (err) => {
    console.error(`asynctx: cannot load the built CLI (${err.message}); run \`npm run build\` first`);
    process.exitCode = 1;
  },
);
