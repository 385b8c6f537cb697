// The asynctx side of ppl-fwd-kill: assembles the members (from the snapshot's
// dist, whose index.js is argv[2]) and writes slotWrite(i) forever, printing
// "ACK i" once each write resolved (every fourth a whole stripe). The matrix kills it with SIGKILL.
import { writeSync } from 'node:fs';
import { fill, slotWrite } from './ppl_plan.mjs';

const [mod, ...paths] = process.argv.slice(2);
const raid = await import(mod);
const members = await Promise.all(paths.map((p) => raid.FileMember.open(p)));
const { array } = await raid.assemble(members, { cleanDelayMs: 60000 });
const stripe = array.layout.chunkBytes * (array.geometry.raidDisks - 1);
for (let i = 0; ; i++) {
  const w = slotWrite(i, array.size, 1, stripe);
  await array.write(fill(w.len, w.seed), w.at);
  writeSync(1, `ACK ${i}\n`);
}
