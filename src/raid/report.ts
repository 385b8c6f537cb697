/**
 * Reports in mdadm's words: `--examine` of one member's superblock and
 * `--detail` of an assembled array, field for field as mdadm 4.x prints them
 * (super1.c examine_super1, Detail.c), so scripts and eyes that know mdadm read
 * ours; plus the same facts as plain data for --json.
 */
import type { RaidArray } from './array.js';
import { layoutName } from './layout.js';
import { hasPpl, pplArea } from './ppl.js';
import {
  Feature,
  featureNames,
  formatUuid,
  MAX_SECTOR,
  ownRole,
  ROLE_FAULTY,
  ROLE_JOURNAL,
  ROLE_MAX,
  SECTOR,
  sbChecksum,
  type Superblock,
} from './superblock.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3)'s 24 characters, in UTC ("Sat Nov 21 08:05:20 2026"). */
export function ctimeString(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** mdadm's human_size: "" below 5000 KiB, else " (x.xx MiB y.yy MB)" (GiB/GB, TiB/TB for larger). */
export function humanSize(bytes: number): string {
  if (bytes < 5000 * 1024) return '';
  const two = (c: number) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
  const unit = (binShift: number, dec: number, b: string, d: string) => {
    const cBin = Math.floor((Math.floor((bytes * 200) / 2 ** binShift) + 1) / 2);
    const cDec = Math.floor((Math.floor(bytes / (dec / 200)) + 1) / 2);
    return ` (${two(cBin)} ${b} ${two(cDec)} ${d})`;
  };
  if (bytes < 2 * 2 ** 30) return unit(20, 1e6, 'MiB', 'MB');
  if (bytes < 2 * 2 ** 40) return unit(30, 1e9, 'GiB', 'GB');
  return unit(40, 1e12, 'TiB', 'TB');
}

function dataDisksOf(sb: Superblock): number {
  return sb.level === 6 ? sb.raidDisks - 2 : sb.level === 4 || sb.level === 5 ? sb.raidDisks - 1 : 0;
}

/** mdadm's "Unused Space" before and after the data, for 1.1/1.2 (data after the superblock) and 1.0. */
function unusedSpace(sb: Superblock, deviceSectors: number): { before: number; after: number } {
  const dataSize = sb.level <= 0 ? sb.dataSize : sb.size;
  if (sb.dataOffset < sb.superOffset) {
    let end = sb.superOffset;
    if (sb.bblogOffset && sb.bblogSize) end = Math.min(end, sb.superOffset + sb.bblogOffset);
    // A 1.0 bitmap sits below the superblock too (a negative offset): not unused either.
    if (sb.featureMap & Feature.BitmapOffset && sb.bitmapOffset < 0) end = Math.min(end, sb.superOffset + sb.bitmapOffset);
    return { before: sb.dataOffset, after: Math.max(0, end - dataSize - sb.dataOffset) };
  }
  let earliest = sb.superOffset + (32 + 4) * 2; // as the kernel reserves
  if (sb.bblogOffset && sb.bblogSize) earliest = Math.max(earliest, sb.superOffset + sb.bblogOffset + sb.bblogSize);
  return { before: Math.max(0, sb.dataOffset - earliest), after: deviceSectors - dataSize - sb.dataOffset };
}

function roleText(sb: Superblock): string {
  const role = ownRole(sb);
  if (role === ROLE_JOURNAL) return 'Journal';
  if (role >= ROLE_FAULTY) return 'spare';
  if (sb.featureMap & Feature.Replacement) return `Replacement device ${role}`;
  return `Active device ${role}`;
}

function arrayState(sb: Superblock): string {
  // One pass over the role table, not one per slot: raid_disks × max_dev can be millions.
  const count = new Uint8Array(sb.raidDisks);
  for (const r of sb.devRoles) if (r < sb.raidDisks && count[r]! < 3) count[r]!++;
  let s = '';
  for (const cnt of count) s += cnt === 2 ? 'R' : cnt === 1 ? 'A' : cnt === 0 ? '.' : '?';
  return s;
}

/** `mdadm --examine` of one member (`deviceSectors` is the member's size). */
export function examineText(name: string, sb: Superblock, deviceSectors: number, bytes?: Uint8Array): string {
  const L: string[] = [];
  const f = (label: string, value: string) => L.push(`${label.padStart(15)} : ${value}`);
  L.push(`${name}:`);
  f('Magic', 'a92b4efc');
  f('Version', `1.${sb.minorVersion}`);
  f('Feature Map', `0x${sb.featureMap.toString(16)}`);
  f('Array UUID', formatUuid(sb.setUuid));
  f('Name', sb.setName);
  f('Creation Time', ctimeString(sb.ctime));
  f('Raid Level', sb.level === 4 || sb.level === 5 || sb.level === 6 ? `raid${sb.level}` : `${sb.level}`);
  f('Raid Devices', String(sb.raidDisks));
  L.push('');
  f('Avail Dev Size', `${sb.dataSize} sectors${humanSize(sb.dataSize * SECTOR)}`);
  const asize = sb.size * SECTOR * dataDisksOf(sb);
  if (dataDisksOf(sb)) f('Array Size', `${asize / 1024} KiB${humanSize(asize)}`);
  if (sb.size !== sb.dataSize) f('Used Dev Size', `${sb.size} sectors${humanSize(sb.size * SECTOR)}`);
  if (sb.dataOffset) f('Data Offset', `${sb.dataOffset} sectors`);
  f('Super Offset', `${sb.superOffset} sectors`);
  if (sb.featureMap & Feature.RecoveryOffset) f('Recovery Offset', `${sb.recoveryOffset} sectors`);
  const u = unusedSpace(sb, deviceSectors);
  // mdadm (getinfo_super1, examine_super1): before = after = 0 becomes after = 1 ("no room"), and a space_after
  // of 1 prints no line, a real single sector after the data (an odd-sized member) included; nor while a reshape moves the data.
  if (!(u.before === 0 && u.after === 0) && u.after !== 1 && !(sb.featureMap & Feature.NewOffset)) f('Unused Space', `before=${u.before} sectors, after=${u.after} sectors`);
  f('State', sb.resyncOffset === MAX_SECTOR ? 'clean' : 'active');
  f('Device UUID', formatUuid(sb.deviceUuid));
  L.push('');
  if (sb.featureMap & Feature.BitmapOffset) f('Internal Bitmap', `${sb.bitmapOffset} sectors from superblock`);
  else if (hasPpl(sb)) {
    // mdadm prints the offset through __le16_to_cpu: unsigned, as here.
    const a = pplArea(sb)!;
    f('PPL', `${a.size} sectors at offset ${a.offset & 0xffff} sectors from superblock`);
  }
  f('Update Time', ctimeString(sb.utime));
  if (sb.bblogSize && sb.bblogOffset) {
    f('Bad Block Log', `${(sb.bblogSize * 512) / 8} entries available at offset ${sb.bblogOffset} sectors${sb.featureMap & Feature.BadBlocks ? ' - bad blocks present.' : ''}`);
  }
  const expected = bytes ? sbChecksum(bytes, sb.maxDev) : sb.sbCsum;
  f('Checksum', `${sb.sbCsum.toString(16)} - ${expected === sb.sbCsum ? 'correct' : `expected ${expected.toString(16)}`}`);
  f('Events', String(sb.events));
  L.push('');
  if (sb.level === 5 || sb.level === 6) f('Layout', layoutName(sb.level, sb.layout));
  f('Chunk Size', `${sb.chunkSize / 2}K`);
  L.push('');
  L.push(`   Device Role : ${roleText(sb)}`);
  L.push(`   Array State : ${arrayState(sb)} ('A' == active, '.' == missing, 'R' == replacing)`);
  const unknown = featureNames(sb.featureMap & ~(Feature.RecoveryOffset | Feature.Ppl | Feature.MultiplePpls | Feature.BitmapOffset | Feature.RecoveryBitmap | Feature.BadBlocks));
  if (unknown.length) L.push(`    (asynctx) features asynctx does not support: ${unknown.join(', ')}`);
  return L.join('\n') + '\n';
}

/** The array's state words as mdadm --detail prints them ("clean", "active, degraded, recovering"…). */
export function stateWords(array: RaidArray): string {
  const words = [array.dirty ? 'active' : 'clean'];
  if (array.table.degradedCount() > 0) words.push('degraded');
  if (array.slots.some((s) => s.state === 'recovering')) words.push('recovering');
  if (array.needsResync && !array.dirty) words.push('resyncing');
  return words.join(', ');
}

/** `mdadm --detail` of an assembled array. */
export function detailText(array: RaidArray): string {
  const m = array.table.master;
  const L: string[] = [];
  const f = (label: string, value: string) => L.push(`${label.padStart(18)} : ${value}`);
  const kib = array.size / 1024;
  const devs = array.slots.filter((s) => s.device).length + array.table.spares.length;
  const active = array.slots.filter((s) => s.state === 'in_sync').length;
  const failed = array.slots.filter((s) => s.state === 'faulty').length;
  const working = array.slots.filter((s) => s.state === 'in_sync' || s.state === 'recovering').length + array.table.spares.length;
  f('Version', `1.${m.minorVersion}`);
  f('Creation Time', ctimeString(m.ctime));
  f('Raid Level', array.levelName);
  f('Array Size', `${kib}${humanSize(array.size)}`);
  f('Used Dev Size', `${m.size / 2}${humanSize(m.size * SECTOR)}`);
  f('Raid Devices', String(m.raidDisks));
  f('Total Devices', String(devs));
  f('Persistence', 'Superblock is persistent');
  L.push('');
  // Detail.c prints this (and its blank line) only when md reports MD_SB_BITMAP_PRESENT.
  if (m.featureMap & Feature.BitmapOffset) {
    f('Intent Bitmap', 'Internal');
    L.push('');
  }
  f('Update Time', ctimeString(m.utime));
  f('State', stateWords(array) + ' ');
  f('Active Devices', String(active));
  f('Working Devices', String(working));
  f('Failed Devices', String(failed));
  f('Spare Devices', String(working - active));
  L.push('');
  if (m.level !== 4) f('Layout', array.layoutName);
  f('Chunk Size', `${m.chunkSize / 2}K`);
  L.push('');
  f('Consistency Policy', consistencyPolicy(m.featureMap));
  // Not an mdadm field: the one risk a degraded array without a log carries, said where users look.
  if (writeHoleOpen(array)) f('Write Hole', "open: degraded without a journal or PPL, a crash during a write can corrupt the missing members' data");
  L.push('');
  const rebuilding = array.slots.find((s) => s.state === 'recovering');
  if (rebuilding) {
    L.push(`    Rebuild Status : ${Math.floor((100 * rebuilding.recoveryOffset) / m.size)}% complete`);
    L.push('');
  }
  f('Name', m.setName);
  f('UUID', formatUuid(m.setUuid));
  f('Events', String(m.events));
  L.push('');
  // Columns as mdadm prints them ("   %5d   %5d    %5d    %5d     " then the state words and the name).
  // Major and minor are "-": members are named by path here. An empty slot is md's "removed" row
  // (number "-", device 0:0); a faulty member is listed after the slots with RaidDevice "-", as md does.
  L.push('    Number   Major   Minor   RaidDevice State');
  const row = (num: string, dev: [string, string], slot: string, state: string, name: string) =>
    L.push(`${num.padStart(8)}${dev[0].padStart(8)}${dev[1].padStart(9)}${slot.padStart(9)}      ${name ? `${state}   ${name}` : state}`);
  const named: [string, string] = ['-', '-'];
  array.slots.forEach((s, i) => {
    if (!s.device || s.state === 'faulty') row('-', ['0', '0'], String(i), 'removed', '');
    else row(String(s.device.sb.devNumber), named, String(i), s.state === 'in_sync' ? 'active sync' : 'spare rebuilding', s.device.member.name);
  });
  // Members in no slot follow after a blank line, as mdadm prints them.
  const faulty = array.slots.filter((s) => s.device && s.state === 'faulty');
  if (array.table.spares.length || faulty.length) L.push('');
  for (const d of array.table.spares) row(String(d.sb.devNumber), named, '-', 'spare', d.member.name);
  for (const s of faulty) row(String(s.device!.sb.devNumber), named, '-', 'faulty', s.device!.member.name);
  return L.join('\n') + '\n';
}

/** The facts of detailText as data (for --json). */
export function detailJson(array: RaidArray): Record<string, unknown> {
  const m = array.table.master;
  return {
    uuid: formatUuid(m.setUuid),
    name: m.setName,
    level: m.level,
    layout: array.layoutName,
    chunkBytes: m.chunkSize * SECTOR,
    raidDisks: m.raidDisks,
    arrayBytes: array.size,
    componentSectors: m.size,
    events: m.events,
    state: stateWords(array),
    dirty: array.dirty,
    needsResync: array.needsResync,
    intentBitmap: m.featureMap & Feature.BitmapOffset ? 'internal' : null,
    consistencyPolicy: consistencyPolicy(m.featureMap),
    writeHoleOpen: writeHoleOpen(array),
    members: array.slots.map((s, i) => ({
      slot: i,
      state: s.state,
      path: s.device?.member.name ?? null,
      devNumber: s.device?.sb.devNumber ?? null,
      dataOffset: s.device?.sb.dataOffset ?? null,
      recoveryOffset: s.state === 'recovering' ? s.recoveryOffset : null,
    })),
    spares: array.table.spares.map((d) => ({ path: d.member.name, devNumber: d.sb.devNumber })),
    errors: array.errors.map((e) => e.message),
  };
}

export { ROLE_MAX };

/** True while a crash during a write could corrupt data of missing members: degraded, and neither a PPL nor a journal. */
export function writeHoleOpen(array: RaidArray): boolean {
  const policy = consistencyPolicy(array.table.master.featureMap);
  return array.table.failedCount() > 0 && policy !== 'ppl' && policy !== 'journal';
}

/** md's consistency_policy as mdadm names it: a journal, PPL or bitmap replaces plain resync. */
export function consistencyPolicy(featureMap: number): 'journal' | 'ppl' | 'bitmap' | 'resync' {
  if (featureMap & Feature.Journal) return 'journal';
  if (featureMap & (Feature.Ppl | Feature.MultiplePpls)) return 'ppl';
  if (featureMap & Feature.BitmapOffset) return 'bitmap';
  return 'resync';
}
