/**
 * CAN_MULTI_CONN is honest for an array (proto.md: a FLUSH on one connection
 * must make durable every write replied on any connection): writes replied on
 * one connection, a FLUSH on another, then a power cut on every member that
 * drops whatever was not yet durable; the reassembled array holds the writes.
 * Without the FLUSH the same cut loses them, so the test sees a flush that
 * covered only its own connection.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdClient, NbdServer } from '../../src/nbd/index.js';
import { TF } from '../../src/nbd/constants.js';
import { assemble, create, MemoryMember } from '../../src/raid/index.js';
import { ArrayTarget } from '../../src/raid/nbd_target.js';
import { PowerLossMember } from '../../src/raid/power_loss_member.js';

/** Every cached (not yet durable) write is dropped: powerCut draws 1/3..2/3 as "dropped". */
const DROP_ALL = () => 0.5;

interface Outcome {
  readonly multiConn: boolean;
  /** What the array reads at each write's offset after the power cut and reassembly. */
  readonly survived: boolean[];
}

/** Writes on connection A (all replied), optionally FLUSH on connection B, power cut, reassemble, read back. */
async function writeThenCut(dir: string, name: string, flushOnOther: boolean): Promise<Outcome> {
  const members = Array.from({ length: 5 }, (_, i) => new PowerLossMember(`${name}${i}`, 3 << 20));
  // No clean marking before the cut: marking clean syncs the members, which would make every write durable.
  const array = await create(members, { level: 6, chunkBytes: 16384, assumeClean: true, cleanDelayMs: 60_000 });
  await array.flush(); // the superblocks are durable before the test begins
  const server = new NbdServer(new ArrayTarget(array));
  const path = join(dir, `${name}.sock`);
  await server.listen({ path });
  const a = await NbdClient.connect({ path });
  const b = await NbdClient.connect({ path });
  // Full stripes, partial ones and a write across a chunk boundary: every write path of the array.
  const writes = [
    { at: 0, data: randomBytes(48 << 10) },
    { at: 100 << 10, data: randomBytes(4096) },
    { at: (256 << 10) - 1024, data: randomBytes(8192) },
    { at: 1 << 20, data: randomBytes(200 << 10) },
  ];
  try {
    await Promise.all(writes.map((w) => a.write([w.data], w.at)));
    if (flushOnOther) await b.flush();
  } finally {
    await a.close();
    await b.close();
  }
  const images = members.map((m) => new MemoryMember(m.name, m.powerCut(DROP_ALL).image));
  // The server is not closed cleanly (that would flush): the power is already gone.
  await server.close().catch(() => undefined);
  await array.stop().catch(() => undefined);
  const { array: again } = await assemble(images, { readonly: true });
  try {
    const survived: boolean[] = [];
    for (const w of writes) {
      const back = Buffer.alloc(w.data.length);
      await again.read(back, w.at);
      survived.push(back.equals(w.data));
    }
    return { multiConn: (a.info.flags & TF.CAN_MULTI_CONN) !== 0, survived };
  } finally {
    await again.stop();
  }
}

describe('NBD multi-conn: a FLUSH on one connection covers writes replied on another', () => {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'asynctx-nbd-mc-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an array export advertises CAN_MULTI_CONN, and writes replied on A survive a power cut after a FLUSH on B', async () => {
    const r = await writeThenCut(dir, 'flushed', true);
    assert.equal(r.multiConn, true);
    assert.deepEqual(r.survived, [true, true, true, true]);
  });

  it('control: without the FLUSH the same power cut loses those writes (the cut really drops what is not durable)', async () => {
    const r = await writeThenCut(dir, 'unflushed', false);
    assert.ok(r.survived.every((s) => !s), `writes survived without a flush: ${JSON.stringify(r.survived)}`);
  });
});
