/** The device registry and channel table: hot plug, rebalance by least use, exclusive channels, events. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Capability, Channel, DmaRegistry, type ChannelEvent, type Device, type HwDescriptor, type HwOp,
} from '../../src/provider.js';
import { InvalidArgumentError } from '../../src/index.js';

class FakeChannel extends Channel {
  accepts(_op: HwOp): boolean {
    return true;
  }
  protected enqueue(_desc: HwDescriptor): void {}
  issuePending(): void {}
}

class FakeDevice implements Device {
  readonly limits = { maxSources: 16, alignment: 1 };
  readonly channels: FakeChannel[];
  closed = 0;
  constructor(readonly name: string, n: number, readonly capabilities = Capability.Memcpy | Capability.Xor) {
    this.channels = Array.from({ length: n }, (_, i) => new FakeChannel(this, i));
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

const names = (chans: readonly Channel[]): string[] => chans.map((c) => c.name);

describe('registry', () => {
  it('register and unregister at any time; the table follows, highest priority first', async () => {
    const reg = new DmaRegistry();
    const client = reg.attach();
    const soft = new FakeDevice('soft', 1);
    const fast = new FakeDevice('fast', 2);
    reg.register(soft, { priority: -1 });
    assert.deepEqual(names(client.channels), ['soft/0']);
    reg.register(fast);
    assert.deepEqual(names(client.channels), ['fast/0', 'fast/1', 'soft/0']);
    assert.deepEqual(reg.devices.map((d) => d.name), ['fast', 'soft']);
    await reg.unregister(fast);
    assert.equal(fast.closed, 1, 'unregister closes the device');
    assert.deepEqual(names(client.channels), ['soft/0']);
  });

  it('refuses a second device of the same name, and unregistering a stranger', async () => {
    const reg = new DmaRegistry();
    reg.register(new FakeDevice('a', 1));
    assert.throws(() => reg.register(new FakeDevice('a', 1)), InvalidArgumentError);
    await assert.rejects(reg.unregister(new FakeDevice('b', 1)), InvalidArgumentError);
  });

  it('the per-capability table lists only capable channels', () => {
    const reg = new DmaRegistry();
    const client = reg.attach();
    reg.register(new FakeDevice('copy', 1, Capability.Memcpy));
    reg.register(new FakeDevice('pq', 1, Capability.Pq | Capability.PqVal));
    assert.deepEqual(names(client.channelsFor('memcpy')), ['copy/0']);
    assert.deepEqual(names(client.channelsFor('raid6_2data')), ['pq/0'], 'recovery runs on the pq engine');
    assert.deepEqual(names(client.channelsFor('xor')), []);
  });

  it('rebalances by least use: clients asking for one channel each spread over the channels', () => {
    const reg = new DmaRegistry();
    const clients = Array.from({ length: 4 }, () => reg.attach({ wanted: 1 }));
    reg.register(new FakeDevice('dev', 3));
    const got = clients.map((c) => names(c.channels));
    assert.deepEqual(got, [['dev/0'], ['dev/1'], ['dev/2'], ['dev/0']]);
    // A client leaving frees its channel for the next rebalance.
    clients[0].close();
    reg.register(new FakeDevice('more', 1));
    assert.deepEqual(clients.slice(1).map((c) => names(c.channels)), [['dev/0'], ['dev/1'], ['dev/2']]);
  });

  it('a client asking for a number of channels gets at most that many', () => {
    const reg = new DmaRegistry();
    reg.register(new FakeDevice('dev', 4));
    assert.equal(reg.attach({ wanted: 2 }).channels.length, 2);
    assert.equal(reg.attach().channels.length, 4);
    assert.throws(() => reg.attach({ wanted: -1 }), InvalidArgumentError);
  });

  it('reports channels added and removed to each client, after its table is consistent', async () => {
    const reg = new DmaRegistry();
    const events: string[] = [];
    const client = reg.attach({
      onEvent: (e: ChannelEvent) => {
        assert.equal(client.channels.includes(e.channel), e.type === 'added', 'the table already reflects the event');
        events.push(`${e.type} ${e.channel.name}`);
      },
    });
    const dev = new FakeDevice('dev', 2);
    reg.register(dev);
    await reg.unregister(dev);
    assert.deepEqual(events, ['added dev/0', 'added dev/1', 'removed dev/0', 'removed dev/1']);
  });

  it('requestChannel hands a channel out exclusively: its device leaves the shared table until released', () => {
    const reg = new DmaRegistry();
    const client = reg.attach();
    const events: string[] = [];
    reg.attach({ onEvent: (e) => events.push(`${e.type} ${e.channel.name}`) });
    const a = new FakeDevice('a', 2, Capability.Memcpy);
    const b = new FakeDevice('b', 1, Capability.Memcpy | Capability.Xor);
    reg.register(a, { priority: 1 });
    reg.register(b);
    events.length = 0;

    const x = reg.requestChannel(Capability.Xor);
    assert.equal(x?.name, 'b/0', 'only b has xor');
    assert.equal(reg.isExclusive(x!), true);
    assert.deepEqual(names(client.channels), ['a/0', 'a/1']);
    assert.deepEqual(events, ['removed b/0']);

    const m1 = reg.requestChannel(Capability.Memcpy, (c) => c.index === 1);
    assert.equal(m1?.name, 'a/1', 'the filter picks');
    assert.deepEqual(names(client.channels), [], 'a left the table with its first exclusive channel');
    const m2 = reg.requestChannel(Capability.Memcpy);
    assert.equal(m2?.name, 'a/0', 'the rest of a private device can still be requested');
    assert.equal(reg.requestChannel(Capability.Memcpy), null, 'none left');

    reg.releaseChannel(m1!);
    assert.deepEqual(names(client.channels), [], 'a/0 is still out');
    reg.releaseChannel(m2!);
    assert.deepEqual(names(client.channels), ['a/0', 'a/1']);
    reg.releaseChannel(x!);
    assert.deepEqual(names(client.channels), ['a/0', 'a/1', 'b/0']);
    assert.throws(() => reg.releaseChannel(x!), InvalidArgumentError, 'released twice');
    assert.throws(() => reg.requestChannel(-1), InvalidArgumentError);
  });

  it('unregistering a device drops its exclusive channels too', async () => {
    const reg = new DmaRegistry();
    const dev = new FakeDevice('dev', 1);
    reg.register(dev);
    const c = reg.requestChannel(Capability.Memcpy)!;
    await reg.unregister(dev);
    assert.equal(reg.isExclusive(c), false);
    assert.equal(reg.requestChannel(Capability.Memcpy), null);
  });
});
