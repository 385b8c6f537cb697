/**
 * `asynctx raid create`: md superblocks onto new members (files created
 * sparse), then the initial parity sync unless --assume-clean.
 */
import { stat } from 'node:fs/promises';
import { InvalidArgumentError } from './commander.js';
import { checkPplCreate, create, detailJson, FileMember, isNbdUri, parseLayout, resync, type Member, type MetadataVersion } from '../raid/index.js';
import { exists } from '../raid/member.js';
import { engineFor, type Engine } from './engine.js';
import { printJson } from './output.js';
import { note, openMember, progress, type ArrayFlags } from './raid_common.js';

export interface CreateFlags extends ArrayFlags {
  level: number;
  chunk: number;
  layout: string;
  memberSize?: number;
  name?: string;
  assumeClean?: boolean;
  consistencyPolicy: 'resync' | 'ppl';
  bitmap?: 'internal' | 'none';
  bitmapChunk?: number;
  metadata?: MetadataVersion;
}

export async function raidCreate(paths: string[], flags: CreateFlags): Promise<void> {
  const layout = parseLayout(flags.level, flags.layout);
  // Refused before any member file is made, as mdadm refuses it.
  if (flags.consistencyPolicy === 'ppl') {
    try {
      checkPplCreate(flags.level, paths.length);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  }
  const members: Array<Member | null> = [];
  let engine: Engine | null = null;
  try {
    for (const p of paths) {
      if (p === 'missing') {
        members.push(null);
        continue;
      }
      if (isNbdUri(p)) {
        members.push(await openMember(p, flags));
        continue;
      }
      if (!(await exists(p))) {
        if (flags.memberSize === undefined) throw new InvalidArgumentError(`${p} does not exist: give --member-size to create it`);
        members.push(await FileMember.create(p, flags.memberSize));
        continue;
      }
      const st = await stat(p);
      // A regular file shorter than --member-size is extended (sparse); devices are used as they are.
      members.push(st.isFile() && flags.memberSize !== undefined ? await FileMember.create(p, flags.memberSize) : await FileMember.open(p));
    }
    engine = engineFor(flags);
    const array = await create(members, {
      level: flags.level,
      layout,
      chunkBytes: flags.chunk,
      name: flags.name,
      assumeClean: flags.assumeClean === true,
      consistencyPolicy: flags.consistencyPolicy,
      bitmap: flags.bitmap,
      bitmapChunkBytes: flags.bitmapChunk,
      metadata: flags.metadata,
      overwrite: flags.force === true,
      ownsMembers: true,
      ops: engine.ops,
      ownsOps: true,
      log: (m) => note(flags, m),
    });
    engine = null; // the array closes it
    try {
      if (array.needsResync) {
        const bar = progress('initial sync', flags);
        await resync(array, { progress: (d, t) => bar.update(d, t) });
        bar.end();
      }
      const m = array.table.master;
      if (flags.json) printJson(detailJson(array));
      else {
        process.stdout.write(
          `created ${array.levelName} ${array.uuid} (${m.setName}): ${m.raidDisks} members, ${m.chunkSize / 2}K chunk, ${array.layoutName}, ` +
            `${array.size} bytes; data offset ${m.dataOffset} sectors, ${m.size} sectors used per member\n`,
        );
      }
    } finally {
      await array.stop();
    }
  } catch (err) {
    await Promise.all(members.map((m) => m?.close().catch(() => undefined)));
    await engine?.close();
    throw err;
  }
}
