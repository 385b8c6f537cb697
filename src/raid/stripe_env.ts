/**
 * The StripeEnv an array gives its stripe handlers (handle.ts): its geometry and parity ops, and
 * its members as the handlers see them — readable and writable ranges, I/O through the member
 * queues (member_io.ts), bad-block lists and, with memberIo 'chain', the members as I/O targets of
 * the stripe's own async_tx chain.
 */
import { IoError } from '../errors.js';
import { MemberIOError } from './errors.js';
import type { StripeEnv } from './handle.js';
import type { Layout } from './layout.js';
import type { MemberIo } from './member_io.js';
import type { MemberTable } from './member_table.js';
import type { RaidOps } from './ops.js';

/** What an array's stripe environment is made of. */
export interface StripeEnvParts {
  readonly layout: Layout;
  readonly ops: RaidOps;
  readonly unit: number;
  readonly table: MemberTable;
  readonly io: MemberIo;
  /** A read-only array writes nothing, bad-block records included. */
  readonly readonly: boolean;
  /** How stripes reach their members (RaidArrayOptions.memberIo; default 'queue'). */
  readonly memberIo?: 'chain' | 'queue';
  /** Marks slot `d` faulty (md_error). */
  markFaulty(d: number, reason: MemberIOError): void;
}

export function arrayStripeEnv(p: StripeEnvParts): StripeEnv {
  const { table, io } = p;
  return {
    layout: p.layout,
    ops: p.ops,
    unit: p.unit,
    readableSectors: (d) => table.readableSectors(d),
    writable: (d) => !p.readonly && table.writable(d),
    io: (d, write, buf, pos, durable) => io.io(d, write, buf, pos, durable),
    canFua: (d) => typeof table.slots[d]?.device?.member.writeFua === 'function',
    failedCount: () => table.failedCount(),
    badRanges: (d, pos, len) => io.badRanges(d, pos, len),
    recordBad: (d, pos, len) => !p.readonly && io.recordBad(d, pos, len),
    ...(p.memberIo !== 'chain'
      ? {}
      : {
          target: (d: number) => io.target(d),
          transferFailed: (d: number, err: Error) => {
            // The member's own error is the cause, as on the queued path; the IoError only carried it.
            const cause = err instanceof IoError && err.cause instanceof Error ? err.cause : err;
            const name = table.slots[d]?.device?.member.name ?? '?';
            p.markFaulty(d, new MemberIOError(`I/O error on member ${d} (${name}): ${cause.message}`, d, { cause }));
          },
        }),
  };
}
