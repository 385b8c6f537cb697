/**
 * Child process of crash.test.ts: assembles the members named on the command
 * line and writes forever, printing "ACK <index>" after each write resolved.
 * The parent kills it with SIGKILL mid-stream.
 */
import { writeSync } from 'node:fs';
import { assemble, FileMember } from '../../src/raid/index.js';
import { bytes } from './helpers.js';
import { crashWrite } from './crash_plan.js';

const paths = process.argv.slice(2);
const members = await Promise.all(paths.map((p) => FileMember.open(p)));
const { array } = await assemble(members, { cleanDelayMs: 60000 });
for (let i = 0; ; i++) {
  const w = crashWrite(i, array.size);
  await array.write(bytes(w.len, w.seed), w.at);
  writeSync(1, `ACK ${i}\n`);
}
