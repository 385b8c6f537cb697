/**
 * A member as an I/O target of the consumer API, so a stripe's member reads
 * and writes travel in its async_tx chain. A member with a file descriptor
 * (a file or block device) gives it to the engines: a worker then reads and
 * writes it straight from the shared arena. Any other member (in memory, an
 * NBD export, a test double) is reached through its own read/write on the
 * main thread.
 */
import { fdTarget } from '../async_tx/fd_target.js';
import type { IoTarget } from '../async_tx/index.js';
import type { Member } from './member.js';

const targets = new WeakMap<Member, IoTarget>();

/** The member's IoTarget (one per member, so an IoError's target names it). */
export function memberTarget(member: Member): IoTarget {
  let t = targets.get(member);
  if (t === undefined) {
    const fd = (member as { readonly fd?: unknown }).fd;
    t = typeof fd === 'number' ? fdTarget(fd, member.name) : promiseTarget(member);
    targets.set(member, t);
  }
  return t;
}

function promiseTarget(member: Member): IoTarget {
  return {
    name: member.name,
    fd: null,
    read: (dest, position, done) => void member.read(dest, position).then(() => done(null), (err: unknown) => done(err instanceof Error ? err : new Error(String(err)))),
    write: (src, position, done) => void member.write(src, position).then(() => done(null), (err: unknown) => done(err instanceof Error ? err : new Error(String(err)))),
  };
}
