/**
 * The server under a seeded stream of bad clients: requests past the end,
 * oversize, with flags or commands that do not exist, BLOCK_STATUS with no
 * context, mixed with valid reads; each connection then ends with a
 * malformed frame (bad magic, a cut-off header, an oversize payload,
 * garbage) or a clean DISC. Every bad request is answered with an error and
 * writes nothing, every good read returns the right bytes, a malformed frame
 * ends its own connection only, and the server serves the next client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdServer } from '../../src/nbd/index.js';
import { seededRandom } from '../../src/random.js';
import { MemoryTarget } from './memory_target.js';
import { Wire } from './wire.js';

const SIZE = 1 << 20;
const CMD = { READ: 0, WRITE: 1, DISC: 2, TRIM: 4, WRITE_ZEROES: 6, BLOCK_STATUS: 7 };

/** The error of the next reply (0 for success), in either reply form; a READ's data is checked against `want`. */
async function answer(w: Wire, structured: boolean, want?: Buffer): Promise<number> {
  if (!structured) {
    const r = await w.reply(want?.length ?? 0);
    if (r.kind !== 'simple') throw new Error('structured chunk without structured replies');
    if (r.error === 0 && want) assert.ok(r.data!.equals(want), 'read returned other bytes');
    return r.error;
  }
  const chunks = await w.chunks();
  const err = chunks.find((c) => c.type & 0x8000);
  if (err) return err.payload.readUInt32BE(0);
  if (want) assert.ok(Buffer.concat(chunks.filter((c) => c.type === 1).map((c) => c.payload.subarray(8))).equals(want));
  return 0;
}

describe('NBD server fuzz', () => {
  let dir = '';
  let target: MemoryTarget;
  let server: NbdServer;
  let sock = '';
  let snapshot: Buffer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbd-fuzz-'));
    target = new MemoryTarget(SIZE);
    randomBytes(SIZE).copy(target.bytes);
    snapshot = Buffer.from(target.bytes);
    server = new NbdServer(target, { log: () => undefined });
    sock = join(dir, 'fuzz.sock');
    await server.listen({ path: sock });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('40 seeded connections of bad requests and malformed frames: errors, no byte written, only that connection dropped', async () => {
    const rnd = seededRandom(20261202);
    const int = (n: number) => Math.floor(rnd() * n);
    for (let conn = 0; conn < 40; conn++) {
      const structured = rnd() < 0.5;
      const w = await Wire.open(sock);
      if (structured) await w.option(8);
      await w.go();
      for (let i = 0, n = 1 + int(12); i < n; i++) {
        const h = BigInt(conn * 100 + i);
        const kind = int(6);
        if (kind === 0) {
          const off = int(SIZE - 70_000);
          const len = int(65_536);
          w.request(CMD.READ, h, off, len);
          assert.equal(await answer(w, structured, snapshot.subarray(off, off + len)), 0);
          continue;
        }
        if (kind === 1) {
          // Past the end, by a little or a lot; a WRITE carries its (small) payload.
          const type = [CMD.READ, CMD.WRITE, CMD.TRIM, CMD.WRITE_ZEROES][int(4)]!;
          const len = 1 + int(65_536);
          const off = SIZE - int(len) + (rnd() < 0.3 ? 2 ** 40 : 0);
          w.request(type, h, off, len, 0, type === CMD.WRITE ? randomBytes(len) : undefined);
        } else if (kind === 2) {
          w.request(CMD.READ, h, 0, (32 << 20) + 1 + int(1 << 20));
        } else if (kind === 3) {
          // Flags no command takes, or that this command does not take (REQ_ONE on WRITE, DF on TRIM).
          const [type, flags] = [[CMD.READ, 1 << (5 + int(11))], [CMD.WRITE, 1 << 3], [CMD.TRIM, 1 << 2]][int(3)]!;
          w.request(type!, h, 0, 512, flags, type === CMD.WRITE ? randomBytes(512) : undefined);
        } else if (kind === 4) {
          w.request([5, 8, 9, 12, 0xffff][int(5)]!, h, 0, 512);
        } else {
          w.request(CMD.BLOCK_STATUS, h, 0, 4096);
        }
        assert.notEqual(await answer(w, structured), 0, `request kind ${kind} on connection ${conn} was accepted`);
      }
      // The connection's last frame.
      const closed = new Promise<void>((r) => w.sock.once('close', () => r()));
      const end = int(5);
      if (end === 0) w.sock.write(Buffer.alloc(28, 0x55));
      else if (end === 1) w.sock.end(Buffer.from([0x25, 0x60, 0x95, 0x13, 0, 0]));
      else if (end === 2) w.request(CMD.WRITE, 1n, 0, (32 << 20) + 1);
      else if (end === 3) w.sock.write(randomBytes(100 + int(400)));
      else w.request(CMD.DISC, 0n, 0, 0);
      // The server ends the connection (a cut-off header ends when our side does).
      await closed;
    }
    const control = await Wire.open(sock);
    await control.go();
    control.request(CMD.READ, 9n, 0, SIZE);
    assert.equal(await answer(control, false, snapshot), 0);
    control.close();
    assert.ok(target.bytes.equals(snapshot), 'a refused request changed the target');
    assert.ok(!target.log.some((l) => l.startsWith('write')), 'the target was asked to write');
  });
});
