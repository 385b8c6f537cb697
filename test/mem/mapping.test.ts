/** The arena mapping domain: in place, bounce in/out by role, shared views, carry along a chain, failure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createArena } from '../../src/mem/index.js';
import { Mapping, MappingDomain, NULL_OFFSET, ROLE_IN, ROLE_OUT, type BlockList } from '../../src/mem/mapping.js';

const IN = ROLE_IN;
const OUT = ROLE_OUT;

function list(blocks: Array<Uint8Array | null>, roles: number[]): BlockList {
  return { count: blocks.length, block: (i) => blocks[i], role: (i) => roles[i] };
}

/** Maps, expecting something to be bounced. */
function map(domain: MappingDomain, blocks: Array<Uint8Array | null>, roles: number[], key: object): Mapping {
  const m = domain.map(list(blocks, roles), key);
  assert.ok(m !== null, 'something was bounced');
  return m;
}

function setup(megabytes = 8): { domain: MappingDomain; used: () => number } {
  const arena = createArena({ megabytes });
  return { domain: new MappingDomain(arena), used: () => arena.usage().blocks };
}

describe('mapping domain', () => {
  it('uses arena blocks in place: nothing to map when every block is in the arena', () => {
    const { domain, used } = setup();
    const a = domain.arena.allocBlock(100);
    assert.equal(domain.map(list([a, null, a.subarray(10, 20)], [IN, IN, IN]), {}), null);
    assert.equal(used(), 1);
    assert.equal(domain.stats.inPlace, 2);
  });

  it('gives arena blocks their own offset and null slots the null offset next to a bounced block', () => {
    const { domain } = setup();
    const a = domain.arena.allocBlock(100);
    const m = map(domain, [a, null, new Uint8Array(100)], [IN, IN, OUT], {});
    assert.deepEqual(m.offsets.slice(0, 2), [a.byteOffset, NULL_OFFSET]);
    assert.equal(m.bounces.length, 1);
    domain.release(m);
  });

  it('bounces plain buffers: copies in what the step reads, out what it writes, then frees', () => {
    const { domain, used } = setup();
    const src = new Uint8Array(64).fill(7);
    const dst = new Uint8Array(64).fill(1);
    const m = map(domain, [dst, src], [OUT, IN], {});
    const [d, s] = m.offsets.map((o) => new Uint8Array(domain.arena.buffer, o, 64));
    assert.ok(s.every((v) => v === 7), 'source copied in');
    assert.ok(!d.every((v) => v === 1), 'a write-only block is not copied in');
    d.set(s); // what an engine would do
    s.fill(9); // an engine scribbling on an input is not copied back
    domain.unmap(m);
    assert.ok(dst.every((v) => v === 7), 'output copied out');
    assert.ok(src.every((v) => v === 7), 'input not copied out');
    assert.equal(used(), 2);
    domain.release(m);
    assert.equal(used(), 0);
    assert.deepEqual({ ...domain.stats }, { inPlace: 0, bounced: 2, bytesIn: 64, bytesOut: 64, reused: 0 });
  });

  it('gives views of the very same bytes one bounce block, with their roles combined', () => {
    const { domain } = setup();
    const buf = new Uint8Array(256).fill(3);
    const dest = buf.subarray(64, 128);
    const m = map(domain, [dest, buf.subarray(64, 128), buf.subarray(0, 64)], [OUT, IN, IN], {});
    assert.equal(m.offsets[0], m.offsets[1]);
    assert.notEqual(m.offsets[0], m.offsets[2]);
    assert.equal(m.bounces.length, 2);
    assert.ok(new Uint8Array(domain.arena.buffer, m.offsets[0], 64).every((v) => v === 3), 'dest read too: copied in');
    domain.release(m);
  });

  it('carries a mapping to the child: same views reuse the bounce block, the rest is freed', () => {
    const { domain, used } = setup();
    const shared = new Uint8Array(128).fill(5);
    const other = new Uint8Array(128).fill(6);
    const parent = map(domain, [shared, other], [OUT, IN], {});
    domain.unmap(parent);
    const childOp = {};
    domain.carry(parent, childOp);
    domain.release(parent);
    assert.equal(used(), 2, 'held for the child');
    // Another step that is not the child cannot pick the carried blocks up.
    const stranger = map(domain, [shared], [IN], {});
    assert.notEqual(stranger.offsets[0], parent.offsets[0]);
    domain.release(stranger);
    const child = map(domain, [shared, other.subarray(0, 64)], [IN, IN], childOp);
    assert.equal(child.offsets[0], parent.offsets[0], 'reused');
    assert.equal(domain.stats.reused, 1);
    assert.equal(used(), 2, 'the unused carried block was freed, a new one made for the sub-view');
    domain.dropCarry(childOp);
    domain.release(child);
    assert.equal(used(), 0);
  });

  it('a carry the child never takes is freed by dropCarry', () => {
    const { domain, used } = setup();
    const parent = map(domain, [new Uint8Array(64)], [OUT], {});
    const childOp = {};
    domain.carry(parent, childOp);
    domain.release(parent);
    assert.equal(used(), 1);
    domain.dropCarry(childOp);
    assert.equal(used(), 0);
  });

  it('when the arena is full, map throws and leaves nothing allocated or copied', () => {
    const { domain, used } = setup(4);
    const big = domain.arena.allocBlock(domain.arena.usage().largestFree - 4096);
    const a = new Uint8Array(1024).fill(1);
    const b = new Uint8Array(8192).fill(2);
    assert.throws(() => map(domain, [a, b], [IN, IN], {}), /arena exhausted/);
    assert.equal(used(), 1);
    assert.equal(domain.stats.bytesIn, 0);
    domain.arena.freeBlock(big);
  });
});
