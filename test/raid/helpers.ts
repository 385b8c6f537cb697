/** Shared test fixtures for the RAID tests: md images written by Linux, and arrays in memory. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { create, MemoryMember, type CreateOptions, type RaidArray } from '../../src/raid/index.js';

/** test/fixtures/md, from the compiled test's place (dist/test/raid). */
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/md/', import.meta.url));

export interface Fixture {
  dir: string;
  meta: Record<string, string>;
  disks: Uint8Array[];
  payload: Uint8Array;
  detail: string;
}

export const FIXTURE_NAMES = ['raid5-4disks-64k-left-symmetric', 'raid6-5disks-16k-right-asymmetric', 'raid6-6disks-64k-left-symmetric'];

/** Loads one fixture: its member images (gunzipped), payload, array.meta and mdadm's own output. */
export function loadFixture(name: string): Fixture {
  const dir = FIXTURES + name + '/';
  const meta = Object.fromEntries(
    readFileSync(dir + 'array.meta', 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('=') as [string, string]),
  );
  const n = Number(meta.ndisks);
  const disks = Array.from({ length: n }, (_, i) => new Uint8Array(gunzipSync(readFileSync(`${dir}disk${i}.img.gz`))));
  const payloadName = { '1572864': 'payload-1536k', '524288': 'payload-512k', '3145728': 'payload-3m' }[meta.payload_bytes!]!;
  const payload = new Uint8Array(gunzipSync(readFileSync(`${FIXTURES}${payloadName}.bin.gz`)));
  return { dir, meta, disks, payload, detail: readFileSync(dir + 'mdadm-detail.txt', 'utf8') };
}

/** Fresh in-memory members holding copies of the fixture's images. */
export function fixtureMembers(f: Fixture): MemoryMember[] {
  return f.disks.map((d, i) => new MemoryMember(`/dev/m${i}`, d.slice()));
}

/** A deterministic pseudo-random byte source (xorshift), so failures reproduce. */
export function bytes(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Creates an array on zeroed in-memory members (assume-clean: zeros are in sync). */
export async function memoryArray(
  n: number,
  memberBytes: number,
  opts: Omit<CreateOptions, 'assumeClean'>,
): Promise<{ array: RaidArray; members: MemoryMember[] }> {
  const members = Array.from({ length: n }, (_, i) => new MemoryMember(`mem${i}`, memberBytes));
  const array = await create(members, { cleanDelayMs: 0, ...opts, assumeClean: true });
  return { array, members };
}

/** All k-subsets of [0, n). */
export function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  for (let i = 0; i < n; i++) for (const rest of subsets(n, k - 1)) if (rest.every((r) => r > i)) out.push([i, ...rest]);
  return out;
}
