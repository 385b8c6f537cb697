#!/usr/bin/env node
// The `asynctx` command. The TypeScript sources are built into dist/ by `npm install`.
// CommonJS (bin/package.json) so that nothing has started libuv's pool when this line runs: the pool runs every
// file read and write (4 threads by default), and a RAID verb keeps requests in flight on every member at once,
// so it is widened here unless the user chose a size. (An ES module entry is read through the pool already.)
process.env.UV_THREADPOOL_SIZE ??= '16';
// The benchmarks (bench/) register `asynctx bench …` here: the product's CLI in src/ never imports them. Their
// registrar is loaded when an argument is `bench`; other commands but the product's own (COMMANDS: `--help`, a
// usage error) get a stand-in with the same name and line (bench/summary.ts); `raid status` loads neither.
import('../dist/src/cli/main.js')
  .then(async (cli) => {
    const args = process.argv.slice(2);
    let extra = [];
    if (args.includes('bench')) extra = [(await import('../dist/bench/index.js')).registerBench];
    else if (!cli.COMMANDS.includes(args[0])) extra = [(await import('../dist/bench/summary.js')).registerBenchSummary];
    return { cli, extra };
  })
  .then(
    ({ cli, extra }) => cli.main(process.argv, extra),
    (err) => {
      console.error(`asynctx: cannot load the built CLI (${err.message}); run \`npm run build\` first`);
      process.exitCode = 1;
    },
  );
