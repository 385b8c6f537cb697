/** md's write-intent bitmap format: round trip, md's refusals, and mdadm -X's report. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BITMAP_MAGIC, bitmapBits, bitmapExamineText, decodeBitmapSuper, dirtyChunks, encodeBitmapSuper, humanChunkSize, setBit, bitIsSet, bitmapLocation, type BitmapSuper } from '../../src/raid/bitmap.js';
import { SuperblockError } from '../../src/raid/errors.js';

const sample = (): BitmapSuper => ({
  magic: BITMAP_MAGIC, version: 4, uuid: Uint8Array.from({ length: 16 }, (_, i) => i * 17),
  events: 20, eventsCleared: 18, syncSize: 2097152, state: 0, chunkSize: 64 << 20, daemonSleep: 5,
  writeBehind: 0, sectorsReserved: 8, nodes: 0, clusterName: '',
});

describe('bitmap format', () => {
  it('round-trips bitmap_super_t at md offsets', () => {
    const bytes = encodeBitmapSuper(sample());
    assert.equal(bytes.length, 256);
    assert.equal(new DataView(bytes.buffer).getUint32(0, true), 0x6d746962);
    assert.equal(new DataView(bytes.buffer).getUint32(52, true), 64 << 20);
    assert.deepEqual(decodeBitmapSuper(bytes), sample());
  });
  it('refuses what md refuses', () => {
    const bad = (patch: Partial<BitmapSuper>) => () => decodeBitmapSuper(encodeBitmapSuper({ ...sample(), ...patch }));
    assert.throws(bad({ magic: 1 }), SuperblockError);
    assert.throws(bad({ version: 2 }), SuperblockError);
    assert.throws(bad({ chunkSize: 3000 }), SuperblockError);
    assert.throws(bad({ daemonSleep: 0 }), SuperblockError);
    assert.throws(() => decodeBitmapSuper(new Uint8Array(100)), SuperblockError);
  });
  it('uses little-endian bit order and counts bits over the sync range', () => {
    const bits = new Uint8Array(4);
    setBit(bits, 0, true); setBit(bits, 9, true); setBit(bits, 31, true);
    assert.deepEqual(Array.from(bits), [1, 2, 0, 0x80]);
    assert.deepEqual(dirtyChunks(bits, 32), [0, 9, 31]);
    assert.deepEqual(dirtyChunks(bits, 20), [0, 9]);
    setBit(bits, 9, false);
    assert.equal(bitIsSet(bits, 9), false);
    assert.equal(bitmapBits({ syncSize: 2097152, chunkSize: 64 << 20 }), 16);
    assert.equal(bitmapBits({ syncSize: 2097153, chunkSize: 64 << 20 }), 17);
  });
  it('prints what mdadm -X prints', () => {
    const bits = new Uint8Array(2); setBit(bits, 3, true);
    const text = bitmapExamineText('/dev/vdb', sample(), bits);
    assert.match(text, /^ {8}Filename : \/dev\/vdb\n {11}Magic : 6d746962\n/);
    assert.match(text, /\n {12}UUID : 00112233:44556677:8899aabb:ccddeeff\n/);
    assert.match(text, /\n {7}Chunksize : 64 MB\n {10}Daemon : 5s flush period\n {6}Write Mode : Normal\n/);
    assert.match(text, /\n {7}Sync Size : 1048576 \(1024\.00 MiB 1073\.74 MB\)\n/);
    assert.match(text, /\n {10}Bitmap : 16 bits \(chunks\), 1 dirty \(6\.2%\)\n$/);
    assert.equal(humanChunkSize(4096), '4 KB');
  });
  it('locates the bitmap from the superblock (1.2 after it, 1.0 before it)', () => {
    assert.deepEqual(bitmapLocation(8, 8, { syncSize: 2097152, chunkSize: 64 << 20 }), { superStart: 8192, bitsStart: 8448, bitsLength: 2 });
    assert.deepEqual(bitmapLocation(1000, -64, { syncSize: 800, chunkSize: 4096 }), { superStart: 479232, bitsStart: 479488, bitsLength: 13 });
    assert.throws(() => bitmapLocation(0, -8, { syncSize: 8, chunkSize: 4096 }), SuperblockError);
  });
});
