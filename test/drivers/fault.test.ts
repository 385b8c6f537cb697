/** The fault-injection device: seeded and ruled faults, always reported. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultDevice, InjectedFaultError, checkFaultOptions } from '../../src/drivers/fault/index.js';
import { SoftwareDevice } from '../../src/drivers/software/index.js';
import { AsyncTxError, DmaStatus, InvalidArgumentError, type HwDescriptor, type HwOp } from '../../src/provider.js';

function run(dev: FaultDevice, op: HwOp): Promise<HwDescriptor> {
  return new Promise((resolve) => {
    const chan = dev.channels[0];
    const d = chan.prepare(op, resolve)!;
    chan.submit(d);
    chan.issuePending();
  });
}

const memset = (len: number, value: number): { op: HwOp; dest: Uint8Array } => {
  const dest = new Uint8Array(len);
  return { op: { kind: 'memset', dest, value }, dest };
};

describe('fault device', () => {
  it('passes work through untouched when no fault is drawn', async () => {
    const dev = new FaultDevice(new SoftwareDevice(), { seed: 3 });
    const { op, dest } = memset(64, 7);
    const d = await run(dev, op);
    assert.equal(d.status, DmaStatus.Complete);
    assert.deepEqual(dest, new Uint8Array(64).fill(7));
    assert.equal(dev.counts.passed, 1);
  });

  it('fails by rule, reports it, and may leave outputs half written (never a silent success)', async () => {
    const dev = new FaultDevice(new SoftwareDevice(), { rules: [{ action: 'fail', op: 'memset' }] });
    const { op, dest } = memset(64, 7);
    const d = await run(dev, op);
    assert.equal(d.status, DmaStatus.Error);
    assert.ok(d.error instanceof InjectedFaultError);
    assert.equal(dest[0], 0xee);
  });

  it('delays by the seeded probability, within the range', async () => {
    const dev = new FaultDevice(new SoftwareDevice(), { seed: 9, delay: 1, delayMs: [20, 30] });
    const { op, dest } = memset(16, 1);
    const t0 = performance.now();
    const d = await run(dev, op);
    const ms = performance.now() - t0;
    assert.equal(d.status, DmaStatus.Complete);
    assert.ok(ms >= 19, `delayed ${ms} ms`);
    assert.equal(dest[15], 1);
  });

  it('the same seed draws the same faults', () => {
    const draw = (seed: number) => {
      const dev = new FaultDevice(new SoftwareDevice(), { seed, fail: 0.3, delay: 0.3, crash: 0.1 });
      return Array.from({ length: 50 }, () => dev.decide(memset(4, 0).op).action);
    };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.ok(draw(42).includes('fail') && draw(42).includes('delay'));
  });

  it('kill drops held descriptors with the error instead of running them later', async () => {
    const dev = new FaultDevice(new SoftwareDevice(), { delay: 1, delayMs: [20, 20] });
    const { op, dest } = memset(16, 5);
    const done = run(dev, op);
    await dev.channels[0].kill(new InjectedFaultError('stop'));
    const d = await done;
    assert.equal(d.status, DmaStatus.Error);
    // A descriptor held as long, submitted after the kill: timers of one duration fire in the
    // order they were set, so once it has run the dropped one's delay has passed as well.
    const later = memset(16, 6);
    assert.equal((await run(dev, later.op)).status, DmaStatus.Complete);
    assert.deepEqual(later.dest, new Uint8Array(16).fill(6));
    assert.deepEqual(dest, new Uint8Array(16), 'the held descriptor never ran');
  });

  it('refuses bad options naming them', () => {
    assert.throws(() => checkFaultOptions({ fail: 2 }), /faults\.fail must be a probability/);
    assert.throws(() => checkFaultOptions({ delayMs: [5, 1] }), /faults\.delayMs/);
    assert.throws(() => checkFaultOptions({ seed: 1.5 }), /faults\.seed/);
  });

  it('regression: bad fault options threw a bare RangeError outside the package hierarchy', () => {
    assert.throws(() => checkFaultOptions({ crash: -1 }), (e: unknown) => e instanceof InvalidArgumentError && e instanceof AsyncTxError);
    assert.throws(() => checkFaultOptions({ fail: 2 }, 'createClient: options.faults'), /^InvalidArgumentError: createClient: options\.faults\.fail /);
  });
});
