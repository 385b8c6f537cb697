/**
 * The device registry and the channel table (dmaengine.c): devices register
 * and unregister at any time; every change rebalances the table, giving each
 * channel client the least-used capable channels, as dma_channel_rebalance
 * does per CPU; `requestChannel` hands a channel out exclusively — its device
 * leaves the shared table (DMA_PRIVATE) until `releaseChannel` gives it back.
 *
 * A channel client is one consumer of the shared table (a TxContext, in
 * practice). As with the first dmaengine clients, it may ask for a number of
 * channels and is told when channels are added to or removed from its table.
 */
import { capabilityFor, type HwOpKind } from './operation.js';
import type { CapabilityMask } from './capability.js';
import type { Channel, Device } from './channel.js';
import { InvalidArgumentError } from '../errors.js';

/** A change to a client's table. */
export interface ChannelEvent {
  readonly type: 'added' | 'removed';
  readonly channel: Channel;
}

export type ChannelFilter = (chan: Channel) => boolean;

export interface ChannelClientOptions {
  /** Most channels this client wants (default: every capable one). */
  readonly wanted?: number;
  /** Only channels whose device has all these capabilities (default: any). */
  readonly mask?: CapabilityMask;
  /** Told of every channel added to or removed from this client's table, synchronously after the change. */
  readonly onEvent?: (event: ChannelEvent) => void;
}

interface Entry {
  readonly device: Device;
  /** Higher first; the software path registers lowest. */
  readonly priority: number;
  readonly order: number;
}

/** One client's view of the table. */
export class ChannelClient {
  private allotted: Channel[] = [];
  private byCapability = new Map<CapabilityMask, Channel[]>();
  private open = true;

  constructor(
    private readonly registry: DmaRegistry,
    readonly wanted: number,
    readonly mask: CapabilityMask,
    private readonly onEvent: ((event: ChannelEvent) => void) | undefined,
  ) {}

  /** Channels allotted to this client, in preference order. */
  get channels(): readonly Channel[] {
    return this.allotted;
  }

  /** This client's channels that can run `kind` (the per-capability table). */
  channelsFor(kind: HwOpKind): readonly Channel[] {
    const cap = capabilityFor(kind);
    let list = this.byCapability.get(cap);
    if (list === undefined) {
      list = this.allotted.filter((c) => (c.device.capabilities & cap) === cap);
      this.byCapability.set(cap, list);
    }
    return list;
  }

  /** Leaves the table: its channels count as used by one fewer client. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.registry.detach(this);
  }

  /** Core-private: installs a new allotment and reports the difference. */
  assign(next: Channel[]): ChannelEvent[] {
    const before = new Set(this.allotted);
    const after = new Set(next);
    this.allotted = next;
    this.byCapability = new Map();
    const events: ChannelEvent[] = [];
    for (const c of before) if (!after.has(c)) events.push({ type: 'removed', channel: c });
    for (const c of next) if (!before.has(c)) events.push({ type: 'added', channel: c });
    return events;
  }

  /** Core-private. */
  notify(events: readonly ChannelEvent[]): void {
    if (this.onEvent !== undefined) for (const e of events) this.onEvent(e);
  }
}

export class DmaRegistry {
  private readonly entries: Entry[] = [];
  private readonly clients: ChannelClient[] = [];
  /** Channels handed out by requestChannel. */
  private readonly exclusive = new Set<Channel>();
  private order = 0;

  /** Registered devices, highest priority first. */
  get devices(): readonly Device[] {
    return this.sorted().map((e) => e.device);
  }

  /** True when `chan` was handed out by requestChannel and not yet released. */
  isExclusive(chan: Channel): boolean {
    return this.exclusive.has(chan);
  }

  /**
   * Adds a device; its channels join the shared table at once.
   * @param priority higher is preferred when channels are equally used (software path: lowest)
   * @throws InvalidArgumentError when the device, or another of the same name, is registered.
   */
  register(device: Device, options: { priority?: number } = {}): void {
    if (this.entries.some((e) => e.device === device || e.device.name === device.name)) {
      throw new InvalidArgumentError(`register: a device named "${device.name}" is already registered`);
    }
    this.entries.push({ device, priority: options.priority ?? 0, order: this.order++ });
    this.rebalance();
  }

  /**
   * Removes a device (hot unplug): it leaves the table at once — no new work
   * reaches it — then `device.close()` runs, which finishes (or fails, with
   * an error status) what it already holds. Resolves when it has.
   * @throws InvalidArgumentError when the device is not registered.
   */
  async unregister(device: Device): Promise<void> {
    const i = this.entries.findIndex((e) => e.device === device);
    if (i < 0) throw new InvalidArgumentError(`unregister: device "${device.name}" is not registered`);
    this.entries.splice(i, 1);
    for (const c of device.channels) this.exclusive.delete(c);
    this.rebalance();
    await device.close();
  }

  /**
   * Hands out a channel of a device that has every capability in `mask` and
   * passes `filter`, exclusively: the device leaves the shared table until
   * every channel taken from it is released. Highest priority first.
   * @returns the channel, or null when none is free.
   */
  requestChannel(mask: CapabilityMask, filter?: ChannelFilter): Channel | null {
    if (!Number.isInteger(mask) || mask < 0) throw new InvalidArgumentError(`requestChannel: mask must be a capability mask, got ${String(mask)}`);
    for (const { device } of this.sorted()) {
      if ((device.capabilities & mask) !== mask) continue;
      for (const chan of device.channels) {
        if (this.exclusive.has(chan) || (filter !== undefined && !filter(chan))) continue;
        this.exclusive.add(chan);
        this.rebalance();
        return chan;
      }
    }
    return null;
  }

  /**
   * Gives back a channel from requestChannel; when its device has none out
   * any more, the device rejoins the shared table.
   * @throws InvalidArgumentError when the channel is not one handed out.
   */
  releaseChannel(chan: Channel): void {
    if (!this.exclusive.delete(chan)) throw new InvalidArgumentError(`releaseChannel: ${chan.name} was not handed out by requestChannel`);
    this.rebalance();
  }

  /** A new client of the shared table; its channels are allotted at once. */
  attach(options: ChannelClientOptions = {}): ChannelClient {
    const wanted = options.wanted ?? Infinity;
    if (wanted !== Infinity && (!Number.isInteger(wanted) || wanted < 0)) {
      throw new InvalidArgumentError(`attach: wanted must be a non-negative integer, got ${String(wanted)}`);
    }
    const client = new ChannelClient(this, wanted, options.mask ?? 0, options.onEvent);
    this.clients.push(client);
    this.rebalance();
    return client;
  }

  /** Core-private: called by ChannelClient.close. */
  detach(client: ChannelClient): void {
    const i = this.clients.indexOf(client);
    if (i >= 0) this.clients.splice(i, 1);
    this.rebalance();
  }

  private sorted(): Entry[] {
    return [...this.entries].sort((a, b) => b.priority - a.priority || a.order - b.order);
  }

  /** Channels of devices with nothing handed out exclusively, in preference order. */
  private shared(): Channel[] {
    return this.sorted()
      .filter((e) => !e.device.channels.some((c) => this.exclusive.has(c)))
      .flatMap((e) => e.device.channels);
  }

  /** Re-reads every device's channels (a device replaced one) and rebalances the table. */
  refresh(): void {
    this.rebalance();
  }

  /**
   * Re-allots every client's channels: each takes, up to what it wants, the
   * capable channels fewest clients already use (ties: preference order), so
   * clients spread over the channels there are. Events go out after every
   * table is consistent.
   */
  private rebalance(): void {
    const pool = this.shared();
    const use = new Map<Channel, number>(pool.map((c) => [c, 0]));
    const rank = new Map<Channel, number>(pool.map((c, i) => [c, i]));
    const changes: Array<[ChannelClient, ChannelEvent[]]> = [];
    for (const client of this.clients) {
      const capable = pool.filter((c) => (c.device.capabilities & client.mask) === client.mask);
      capable.sort((a, b) => use.get(a)! - use.get(b)! || rank.get(a)! - rank.get(b)!);
      const mine = capable.slice(0, Math.min(client.wanted, capable.length));
      for (const c of mine) use.set(c, use.get(c)! + 1);
      mine.sort((a, b) => rank.get(a)! - rank.get(b)!);
      changes.push([client, client.assign(mine)]);
    }
    for (const [client, events] of changes) client.notify(events);
  }
}
