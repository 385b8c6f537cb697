/**
 * `asynctx raid read` and `asynctx raid write`: copy between a file and the
 * array at any byte offset, a few full stripes at a time, reading the next
 * piece of the source while the last one is written.
 */
import { open, stat } from 'node:fs/promises';
import { InvalidArgumentError } from './commander.js';
import { ArrayStateError, resync, type RaidArray } from '../raid/index.js';
import { ioBuffer, note, openArray, progress, type ArrayFlags } from './raid_common.js';
import { printJson } from './output.js';

/** Bytes per step: whole chunk rows, about 4 MiB, so large copies are full-stripe writes. */
function stepFor(array: RaidArray): number {
  const row = array.layout.chunkBytes * array.layout.dataDisks;
  return Math.max(1, Math.round((4 << 20) / row)) * row;
}

/** Resyncs an array assembled dirty before writing to it, as md does, and says so. */
export async function resyncIfNeeded(array: RaidArray, flags: ArrayFlags): Promise<void> {
  if (!array.needsResync) return;
  if (array.slots.some((s) => s.state !== 'in_sync')) {
    // Parity cannot be resynced while a member is missing (assembled with --force):
    // rebuild first; `raid rebuild` / `raid add --rebuild` resync right after it.
    note(flags, 'array is dirty and degraded: parity is resynced after the missing members are rebuilt (asynctx raid rebuild, or raid add --member NEW)');
    return;
  }
  note(flags, 'array was not cleanly stopped: resyncing parity before use');
  const bar = progress('resync', flags);
  const r = await resync(array, { progress: (d, t) => bar.update(d, t) });
  bar.end();
  note(flags, `resync done: ${r.mismatches} mismatched sectors rewritten${r.skipped ? `; ${(r.skipped / 1e6).toFixed(1)} of ${(r.bytes / 1e6).toFixed(1)} MB per member skipped (in sync by the write-intent bitmap)` : ''}`);
}

export interface ReadFlags extends ArrayFlags {
  output: string;
  offset: number;
  length?: number;
}

export async function raidRead(paths: string[], flags: ReadFlags): Promise<void> {
  const { array } = await openArray(paths, { ...flags, readonly: true });
  try {
    if (array.needsResync) note(flags, 'array is dirty (not cleanly stopped); data reads are fine unless it is also degraded');
    const length = flags.length ?? Math.max(0, array.size - flags.offset);
    if (flags.offset + length > array.size) {
      throw new InvalidArgumentError(`--offset ${flags.offset} + --length ${length} is past the end of the array (${array.size} bytes)`);
    }
    const out = flags.output === '-' ? null : await open(flags.output, 'w');
    const step = stepFor(array);
    const bar = progress('read', flags);
    // In the shared arena: members are read straight into them and the engines rebuild lost blocks there in place.
    const held = [ioBuffer(array.ops, step), ioBuffer(array.ops, step)];
    const bufs = held.map((h) => h.buf);
    let pending: Promise<unknown> = Promise.resolve();
    try {
      for (let done = 0, i = 0; done < length; done += step, i++) {
        const n = Math.min(step, length - done);
        const buf = bufs[i % 2]!.subarray(0, n);
        await array.read(buf, flags.offset + done);
        await pending; // the previous piece's file write, before its buffer is reused
        pending = out ? out.write(buf, 0, n, done) : new Promise((r) => process.stdout.write(buf, r));
        bar.update(done + n, length);
      }
      await pending;
    } finally {
      await pending.catch(() => undefined);
      bar.end();
      await out?.close();
      for (const h of held) h.free();
    }
    if (flags.json) printJson({ read: length, offset: flags.offset, degraded: array.table.degradedCount() > 0 });
  } finally {
    await array.stop();
  }
}

export interface WriteFlags extends ArrayFlags {
  input: string;
  offset: number;
}

export async function raidWrite(paths: string[], flags: WriteFlags): Promise<void> {
  if (flags.readonly) throw new ArrayStateError('--readonly and write do not mix');
  const size = (await stat(flags.input)).size;
  const { array } = await openArray(paths, flags);
  try {
    if (flags.offset + size > array.size) {
      throw new InvalidArgumentError(`--offset ${flags.offset} + ${size} input bytes is past the end of the array (${array.size} bytes)`);
    }
    await resyncIfNeeded(array, flags);
    const input = await open(flags.input, 'r');
    const step = stepFor(array);
    const bar = progress('write', flags);
    // In the shared arena: parity is computed from them in place and they are written to the members as they are.
    const held = [ioBuffer(array.ops, step), ioBuffer(array.ops, step)];
    const bufs = held.map((h) => h.buf);
    const fill = async (i: number, at: number): Promise<Uint8Array> => {
      const n = Math.min(step, size - at);
      const b = bufs[i % 2]!.subarray(0, n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await input.read(b, got, n - got, at + got);
        if (bytesRead === 0) throw new Error(`${flags.input} shrank while being read`);
        got += bytesRead;
      }
      return b;
    };
    let next: Promise<Uint8Array> | null = null;
    try {
      next = size > 0 ? fill(0, 0) : null;
      for (let done = 0, i = 0; done < size; i++) {
        const buf = await next!;
        next = done + buf.length < size ? fill(i + 1, done + buf.length) : null;
        await array.write(buf, flags.offset + done);
        done += buf.length;
        bar.update(done, size);
      }
    } finally {
      await next?.catch(() => undefined);
      bar.end();
      await input.close();
      for (const h of held) h.free();
    }
    if (array.errors.length) note(flags, `${array.errors.length} member error(s): ${array.errors.map((e) => e.message).join('; ')}`);
    if (flags.json) printJson({ written: size, offset: flags.offset, errors: array.errors.map((e) => e.message) });
  } finally {
    await array.stop();
  }
}
