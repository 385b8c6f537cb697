/**
 * A client that hangs up between requests without NBD_CMD_DISC (nbdfuse does,
 * as do many others) ends its connection quietly; one that hangs up inside a
 * request frame is a dropped connection, logged. Either way the server goes
 * on serving the other clients.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdServer } from '../../src/nbd/index.js';
import { MemoryTarget } from './memory_target.js';
import { Wire } from './wire.js';

const READ = 0;

/** Waits until the server has no connection open (each one's loop has ended). */
async function drained(server: NbdServer): Promise<void> {
  for (let i = 0; i < 200 && server.openConnections > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.openConnections, 0, 'the connection was never closed on the server side');
}

describe('NBD client hang-ups', () => {
  let dir = '';
  let server: NbdServer;
  let path = '';
  const logs: string[] = [];
  let open = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbd-hup-'));
    server = new NbdServer(new MemoryTarget(1 << 20), { log: (m) => logs.push(m) });
    path = join(dir, 'sock');
    await server.listen({ path });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const roundTrip = async (w: Wire, handle: bigint) => {
    w.request(READ, handle, 0, 4096);
    const r = await w.reply(4096);
    assert.equal(r.kind === 'simple' && r.error, 0);
  };

  it('closing after a reply, with no DISC, logs nothing', async () => {
    const w = await Wire.open(path);
    await w.go();
    await roundTrip(w, 1n);
    open = server.stats.connections;
    w.close();
    await drained(server);
    assert.deepEqual(logs, []);
  });

  it('closing halfway through a request header is a dropped connection, logged; the next client is served', async () => {
    const w = await Wire.open(path);
    await w.go();
    w.sock.write(Buffer.alloc(10));
    await new Promise((r) => setTimeout(r, 20));
    w.close();
    await drained(server);
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /connection dropped: connection closed/);
    const next = await Wire.open(path);
    await next.go();
    await roundTrip(next, 2n);
    next.close();
    assert.ok(server.stats.connections > open);
  });
});
