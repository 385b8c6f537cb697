/**
 * `asynctx bench-raid`: the RAID targets, measured in one run on the same files.
 * - full-stripe sequential write of a RAID-6 over N files, against writing the
 *   same data bytes striped over the same files with no parity (RAID-0 style,
 *   same step size, same positional I/O and queue depth);
 * - read with two members missing (rebuilt from P+Q) against a healthy read.
 * Ratios are data bytes per second of the RAID path over the reference path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { assemble, create, FileMember, SECTOR, type RaidArray } from '../raid/index.js';
import { parseBytes, printJson } from './raid-common.js';

interface BenchFlags {
  members: number;
  memberSize: number;
  chunk: number;
  dir?: string;
  runs: number;
  json?: boolean;
  keep?: boolean;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Same data, same files, no parity: chunk k of the data goes to file k mod n, like RAID-0. */
async function stripedWrite(files: FileMember[], data: Uint8Array, chunk: number, dataOffset: number, step: number): Promise<void> {
  const n = files.length;
  for (let at = 0; at < data.length; at += step) {
    const end = Math.min(data.length, at + step);
    const writes: Promise<void>[] = [];
    for (let c = at; c < end; c += chunk) {
      const k = c / chunk;
      const file = files[k % n]!;
      const pos = dataOffset + Math.floor(k / n) * chunk;
      writes.push(file.write(data.subarray(c, Math.min(end, c + chunk)), pos));
    }
    await Promise.all(writes);
  }
}

async function arrayWrite(array: RaidArray, data: Uint8Array, step: number): Promise<void> {
  for (let at = 0; at < data.length; at += step) await array.write(data.subarray(at, Math.min(data.length, at + step)), at);
}

async function arrayRead(array: RaidArray, buf: Uint8Array, step: number): Promise<void> {
  for (let at = 0; at < buf.length; at += step) await array.read(buf.subarray(at, Math.min(buf.length, at + step)), at);
}

async function benchRaid(flags: BenchFlags): Promise<void> {
  const dir = await mkdtemp(join(flags.dir ?? tmpdir(), 'asynctx-bench-raid-'));
  const paths = Array.from({ length: flags.members }, (_, i) => join(dir, `m${i}.img`));
  const rows: Array<Record<string, number | string>> = [];
  try {
    let files = await Promise.all(paths.map((p) => FileMember.create(p, flags.memberSize)));
    let array = await create(files, { level: 6, chunkBytes: flags.chunk, assumeClean: true, name: 'bench' });
    const row = array.layout.chunkBytes * array.layout.dataDisks;
    const step = Math.max(1, Math.round((4 << 20) / row)) * row;
    const dataBytes = Math.floor(array.size / step) * step;
    const dataOffset = array.table.master.dataOffset * SECTOR;
    const data = new Uint8Array(dataBytes);
    for (let i = 0; i < dataBytes; i += 4096) data[i] = (i / 4096) & 0xff; // not all zeros, cheap to make
    const best = (xs: number[]) => Math.min(...xs);
    const raidW: number[] = [];
    const plainW: number[] = [];
    for (let r = 0; r < flags.runs; r++) {
      plainW.push(await timed(() => stripedWrite(files, data, flags.chunk, dataOffset, step)));
      raidW.push(await timed(() => arrayWrite(array, data, step)));
    }
    await array.stop();
    files = await Promise.all(paths.map((p) => FileMember.open(p)));
    const healthy = (await assemble(files, { readonly: true })).array;
    const buf = new Uint8Array(dataBytes);
    const readH: number[] = [];
    const readD: number[] = [];
    const degraded = (await assemble(files.slice(0, flags.members - 2), { readonly: true })).array;
    for (let r = 0; r < flags.runs; r++) {
      readH.push(await timed(() => arrayRead(healthy, buf, step)));
      readD.push(await timed(() => arrayRead(degraded, buf, step)));
    }
    if (Buffer.compare(Buffer.from(buf), Buffer.from(data)) !== 0) throw new Error('bench: degraded read returned different bytes');
    await Promise.all(files.map((f) => f.close()));
    array = healthy;
    const mbps = (s: number) => dataBytes / s / 1e6;
    rows.push(
      { test: 'striped write, no parity', mbps: mbps(best(plainW)) },
      { test: `raid6 full-stripe write (${flags.members} members)`, mbps: mbps(best(raidW)) },
      { test: 'raid6 healthy read', mbps: mbps(best(readH)) },
      { test: 'raid6 read, 2 members missing', mbps: mbps(best(readD)) },
    );
    const writeRatio = best(plainW) / best(raidW);
    const readRatio = best(readH) / best(readD);
    const result = {
      members: flags.members,
      chunk: flags.chunk,
      dataBytes,
      runs: flags.runs,
      rows,
      writeRatio,
      writeTarget: 0.8,
      degradedReadRatio: readRatio,
      degradedReadTarget: 0.6,
      dir,
    };
    if (flags.json) printJson(result);
    else {
      process.stdout.write(`RAID-6, ${flags.members} members of ${flags.memberSize} bytes, chunk ${flags.chunk / 1024}K, ${(dataBytes / 1e6).toFixed(0)} MB of data, best of ${flags.runs}\n`);
      for (const r of rows) process.stdout.write(`  ${String(r.test).padEnd(40)} ${Number(r.mbps).toFixed(0).padStart(7)} MB/s\n`);
      process.stdout.write(`  full-stripe write / striped write : ${writeRatio.toFixed(2)} (target >= 0.80)\n`);
      process.stdout.write(`  degraded read / healthy read      : ${readRatio.toFixed(2)} (target >= 0.60)\n`);
    }
  } finally {
    if (!flags.keep) await rm(dir, { recursive: true, force: true });
  }
}

export function registerRaidBench(program: Command): void {
  program
    .command('bench-raid')
    .description('RAID targets: RAID-6 full-stripe write vs striped write without parity; degraded vs healthy read')
    .addOption(new Option('--members <n>', 'RAID-6 members').argParser(Number).default(6))
    .addOption(new Option('--member-size <size>', 'bytes per member file').argParser(parseBytes).default(128 << 20, '128M'))
    .addOption(new Option('--chunk <size>', 'chunk size').argParser(parseBytes).default(512 << 10, '512K'))
    .addOption(new Option('--runs <n>', 'repetitions (best is kept)').argParser(Number).default(3))
    .option('--dir <path>', 'where the member files go (default: the OS temp dir)')
    .option('--keep', 'keep the member files')
    .option('--json', 'print JSON')
    .action((flags: BenchFlags) => benchRaid(flags));
}
