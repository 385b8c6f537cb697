// The asynctx side of bm-fwd-kill: assembles the members (from the snapshot's
// dist, whose index.js is argv[2]) and writes regionWrite(i) from byte argv[3]
// on, printing "ACK i" once each write resolved; the bitmap daemon and the
// clean marking wait a minute, so the bits stay set. The matrix kills it with SIGKILL.
import { writeSync } from 'node:fs';
import { fill, regionWrite } from './ppl_plan.mjs';

const [mod, start, ...paths] = process.argv.slice(2);
const raid = await import(mod);
const members = await Promise.all(paths.map((p) => raid.FileMember.open(p)));
const { array } = await raid.assemble(members, { cleanDelayMs: 60000, bitmapDaemonMs: 60000 });
for (let i = 0; ; i++) {
  const w = regionWrite(i, Number(start), 1);
  await array.write(fill(w.len, w.seed), w.at);
  writeSync(1, `ACK ${i}\n`);
}
