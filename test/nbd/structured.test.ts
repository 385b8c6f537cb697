/**
 * Structured replies and the base:allocation metadata context on the wire
 * (proto.md): what the server negotiates, the chunks a READ is answered with
 * (data by offset, errors by offset, a final NONE), BLOCK_STATUS, and the
 * simple replies a client that negotiated nothing still gets.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NbdServer } from '../../src/nbd/index.js';
import { READ_PIECE } from '../../src/nbd/transmission.js';
import { MemoryTarget } from './memory_target.js';
import { metaQuery, Wire, type Chunk } from './wire.js';

const OPT = { GO: 7, STRUCTURED_REPLY: 8, LIST_META: 9, SET_META: 10 };
const REP = { ACK: 1, META_CONTEXT: 4, ERR_INVALID: 0x80000003, ERR_UNKNOWN: 0x80000006 };
const CMD = { READ: 0, WRITE: 1, FLUSH: 3, BLOCK_STATUS: 7 };
const CHUNK = { NONE: 0, OFFSET_DATA: 1, BLOCK_STATUS: 5, ERROR: 32769, ERROR_OFFSET: 32770 };
const SEND_DF = 1 << 7;
const SIZE = 8 << 20;

const errnoOf = (c: Chunk) => c.payload.readUInt32BE(0);
const messageOf = (c: Chunk) => c.payload.toString('utf8', 6, 6 + c.payload.readUInt16BE(4));

/** Negotiates structured replies (and base:allocation when asked) and enters transmission. */
async function structured(path: string, meta = false): Promise<Wire> {
  const w = await Wire.open(path);
  assert.equal((await w.option(OPT.STRUCTURED_REPLY))[0]!.type, REP.ACK);
  if (meta) assert.equal((await w.option(OPT.SET_META, metaQuery('base:allocation'))).length, 2);
  await w.go();
  return w;
}

/** Puts a structured READ's data chunks back together; asserts they lie inside the request and do not overlap. */
function reassemble(chunks: readonly Chunk[], offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  const seen = new Uint8Array(length);
  for (const c of chunks.filter((c) => c.type === CHUNK.OFFSET_DATA)) {
    const at = Number(c.payload.readBigUInt64BE(0)) - offset;
    const data = c.payload.subarray(8);
    assert.ok(at >= 0 && at + data.length <= length && data.length > 0, `chunk at ${at} of ${data.length} bytes outside the request`);
    assert.ok(seen.subarray(at, at + data.length).every((x) => x === 0), `chunk at ${at} overlaps another`);
    seen.fill(1, at, at + data.length);
    data.copy(out, at);
  }
  return out;
}

describe('NBD structured replies and base:allocation', () => {
  let dir = '';
  let target: MemoryTarget;
  let server: NbdServer;
  let sock = '';
  let roSock = '';
  let roServer: NbdServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'asynctx-nbd-sr-'));
    target = new MemoryTarget(SIZE);
    randomBytes(SIZE).copy(target.bytes);
    server = new NbdServer(target, { exportName: 'disk' });
    sock = join(dir, 'rw.sock');
    await server.listen({ path: sock });
    roServer = new NbdServer(new MemoryTarget(1 << 20), { readonly: true });
    roSock = join(dir, 'ro.sock');
    await roServer.listen({ path: roSock });
  });
  after(async () => {
    await server.close();
    await roServer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates per connection: SEND_DF only once structured; meta contexts need structured replies first', async () => {
    const plain = await Wire.open(sock);
    assert.equal((await plain.option(OPT.SET_META, metaQuery('base:allocation'))).at(-1)!.type, REP.ERR_INVALID);
    assert.equal((await plain.go()) & SEND_DF, 0);
    // Unstructured: a READ is a simple reply with its data, BLOCK_STATUS is refused with EINVAL.
    plain.request(CMD.READ, 1n, 4096, 512);
    const r = await plain.reply(512);
    assert.equal(r.kind, 'simple');
    assert.ok(r.data!.equals(target.bytes.subarray(4096, 4608)));
    plain.request(CMD.BLOCK_STATUS, 2n, 0, 4096);
    assert.deepEqual(await plain.reply(), { kind: 'simple', error: 22, handle: 2n });
    plain.close();
    const s = await Wire.open(sock);
    assert.deepEqual(await s.option(OPT.STRUCTURED_REPLY, Buffer.from([1])), [{ type: REP.ERR_INVALID, data: Buffer.from('NBD_OPT_STRUCTURED_REPLY takes no data') }]);
    await s.option(OPT.STRUCTURED_REPLY);
    assert.equal((await s.go()) & SEND_DF, SEND_DF);
    s.close();
  });

  it('LIST_META_CONTEXT lists base:allocation; SET selects it by exact name only; bad requests are refused', async () => {
    const w = await Wire.open(sock);
    await w.option(OPT.STRUCTURED_REPLY);
    const ctx = (r: { data: Buffer }) => [r.data.readUInt32BE(0), r.data.toString('utf8', 4)];
    for (const q of [[], ['base:'], ['base:allocation'], ['qemu:dirty-bitmap:x', 'base:allocation']]) {
      const replies = await w.option(OPT.LIST_META, metaQuery(...q));
      assert.deepEqual(replies.map((r) => r.type), [REP.META_CONTEXT, REP.ACK], q.join());
      assert.deepEqual(ctx(replies[0]!), [0, 'base:allocation']);
    }
    assert.deepEqual((await w.option(OPT.LIST_META, metaQuery('qemu:allocation-depth'))).map((r) => r.type), [REP.ACK]);
    // SET: 'base:' selects nothing there, the exact name selects with a nonzero id.
    assert.deepEqual((await w.option(OPT.SET_META, metaQuery('base:'))).map((r) => r.type), [REP.ACK]);
    const set = await w.option(OPT.SET_META, metaQuery('x-foo:bar', 'base:allocation'));
    assert.deepEqual(set.map((r) => r.type), [REP.META_CONTEXT, REP.ACK]);
    assert.notEqual(ctx(set[0]!)[0], 0);
    assert.equal(ctx(set[0]!)[1], 'base:allocation');
    const truncated = metaQuery('base:allocation').subarray(0, 12);
    assert.equal((await w.option(OPT.SET_META, truncated)).at(-1)!.type, REP.ERR_INVALID);
    const other = Buffer.concat([Buffer.from([0, 0, 0, 4]), Buffer.from('nope'), metaQuery('base:allocation').subarray(4)]);
    assert.equal((await w.option(OPT.LIST_META, other)).at(-1)!.type, REP.ERR_UNKNOWN);
    w.close();
  });

  it('READ: one final data chunk when it fits; parts by offset then NONE when larger; DF keeps it whole; 0 bytes is NONE', async () => {
    const w = await structured(sock);
    w.request(CMD.READ, 7n, 12345, 4096);
    const small = await w.chunks();
    assert.deepEqual(small.map((c) => [c.type, c.flags, c.handle]), [[CHUNK.OFFSET_DATA, 1, 7n]]);
    assert.ok(reassemble(small, 12345, 4096).equals(target.bytes.subarray(12345, 12345 + 4096)));
    const at = READ_PIECE - 1000;
    const len = 2 * READ_PIECE + 5000;
    w.request(CMD.READ, 8n, at, len);
    const big = await w.chunks();
    assert.equal(big.at(-1)!.type, CHUNK.NONE);
    assert.equal(big.length, 5, 'four parts cut at READ_PIECE boundaries, then NONE');
    assert.ok(big.slice(0, -1).every((c) => c.type === CHUNK.OFFSET_DATA && c.flags === 0));
    assert.ok(reassemble(big, at, len).equals(target.bytes.subarray(at, at + len)));
    w.request(CMD.READ, 9n, at, len, 1 << 2);
    const whole = await w.chunks();
    assert.deepEqual(whole.map((c) => c.type), [CHUNK.OFFSET_DATA]);
    assert.ok(reassemble(whole, at, len).equals(target.bytes.subarray(at, at + len)));
    w.request(CMD.READ, 10n, 0, 0);
    assert.deepEqual((await w.chunks()).map((c) => [c.type, c.flags]), [[CHUNK.NONE, 1]]);
    w.close();
  });

  it('READ errors: a bad range is an ERROR chunk with a message; a failing part is ERROR_OFFSET while the rest arrives', async () => {
    const w = await structured(sock);
    w.request(CMD.READ, 1n, SIZE - 100, 200);
    const [e] = await w.chunks();
    assert.equal(e!.type, CHUNK.ERROR);
    assert.equal(errnoOf(e!), 22);
    assert.match(messageOf(e!), /passes the end/);
    w.request(CMD.READ, 2n, 0, 512, 1 << 3);
    assert.equal(errnoOf((await w.chunks())[0]!), 22, 'REQ_ONE is not a READ flag');
    target.badRanges.push([READ_PIECE + 10, 1]);
    try {
      w.request(CMD.READ, 3n, 0, 3 * READ_PIECE);
      const chunks = await w.chunks();
      const errs = chunks.filter((c) => c.type === CHUNK.ERROR_OFFSET);
      assert.equal(errs.length, 1);
      assert.equal(errnoOf(errs[0]!), 5);
      assert.equal(Number(errs[0]!.payload.readBigUInt64BE(errs[0]!.payload.length - 8)), READ_PIECE);
      assert.equal(chunks.filter((c) => c.type === CHUNK.OFFSET_DATA).length, 2);
      const got = reassemble(chunks, 0, 3 * READ_PIECE);
      assert.ok(got.subarray(0, READ_PIECE).equals(target.bytes.subarray(0, READ_PIECE)));
      assert.ok(got.subarray(2 * READ_PIECE).equals(target.bytes.subarray(2 * READ_PIECE, 3 * READ_PIECE)));
      assert.equal(chunks.at(-1)!.type, CHUNK.NONE);
      // A read inside one part: the error chunk is the final one.
      w.request(CMD.READ, 4n, READ_PIECE, 4096);
      assert.deepEqual((await w.chunks()).map((c) => [c.type, c.flags]), [[CHUNK.ERROR_OFFSET, 1]]);
    } finally {
      target.badRanges.length = 0;
    }
    w.close();
  });

  it('BLOCK_STATUS reports the whole range as allocated data; needs a selected context; refuses bad ranges', async () => {
    const noctx = await structured(sock);
    noctx.request(CMD.BLOCK_STATUS, 1n, 0, 4096);
    assert.equal(errnoOf((await noctx.chunks())[0]!), 22);
    noctx.close();
    const w = await structured(sock, true);
    for (const [flags, off, len] of [[0, 0, SIZE], [1 << 3, 4096, 65536], [0, SIZE - 1, 1]] as const) {
      w.request(CMD.BLOCK_STATUS, 2n, off, len, flags);
      const [c, ...rest] = await w.chunks();
      assert.equal(rest.length, 0);
      assert.equal(c!.type, CHUNK.BLOCK_STATUS);
      assert.equal(c!.payload.length, 12);
      assert.notEqual(c!.payload.readUInt32BE(0), 0);
      assert.deepEqual([c!.payload.readUInt32BE(4), c!.payload.readUInt32BE(8)], [len, 0]);
    }
    for (const [off, len] of [[SIZE - 512, 1024], [0, 0]] as const) {
      w.request(CMD.BLOCK_STATUS, 3n, off, len);
      const [e] = await w.chunks();
      assert.deepEqual([e!.type, errnoOf(e!)], [CHUNK.ERROR, 22]);
    }
    w.close();
  });

  it('other commands: success is a simple reply, failure an ERROR chunk; a FUA write flushes before it replies', async () => {
    const w = await structured(sock);
    const data = randomBytes(8192);
    target.log.length = 0;
    w.request(CMD.WRITE, 5n, 65536, data.length, 1, data);
    assert.deepEqual(await w.reply(), { kind: 'simple', error: 0, handle: 5n });
    assert.deepEqual(target.log, ['write 65536 8192', 'flush']);
    assert.ok(target.bytes.subarray(65536, 65536 + 8192).equals(data));
    w.request(CMD.WRITE, 6n, SIZE - 10, 20, 0, Buffer.alloc(20));
    const [e] = await w.chunks();
    assert.deepEqual([e!.type, errnoOf(e!)], [CHUNK.ERROR, 28]);
    w.request(CMD.FLUSH, 7n, 0, 0);
    assert.deepEqual(await w.reply(), { kind: 'simple', error: 0, handle: 7n });
    w.close();
    const ro = await structured(roSock);
    ro.request(CMD.WRITE, 1n, 0, 4, 0, Buffer.alloc(4));
    const [p] = await ro.chunks();
    assert.deepEqual([p!.type, errnoOf(p!)], [CHUNK.ERROR, 1]);
    assert.match(messageOf(p!), /read-only/);
    ro.close();
  });
});
