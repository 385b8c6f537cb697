/**
 * Main side: an operation as a ring slot describes it — opcode, arguments,
 * and the block list in the order protocol.ts fixes — with each block's role
 * (read, written) for the mapping layer.
 */
import { opLength, ROLE_IN, ROLE_OUT, type HwOp } from '../../provider.js';
import { Opcode } from './protocol.js';

export interface Encoded {
  readonly opcode: number;
  readonly len: number;
  readonly arg0: number;
  readonly arg1: number;
  readonly blocks: ReadonlyArray<Uint8Array | null>;
  readonly roles: readonly number[];
}

const IN = ROLE_IN;
const OUT = ROLE_OUT;
const INOUT = ROLE_IN | ROLE_OUT;

/** data…, P, Q with the data roles given, P and Q read (validate) or written. */
function pqList(data: ReadonlyArray<Uint8Array | null>, p: Uint8Array | null, q: Uint8Array | null, pq: number) {
  return { blocks: [...data, p, q], roles: [...data.map(() => IN), pq, pq] };
}

export function encode(op: HwOp): Encoded {
  const len = opLength(op);
  switch (op.kind) {
    case 'memcpy':
      return { opcode: Opcode.Memcpy, len, arg0: 0, arg1: 0, blocks: [op.dest, op.src], roles: [OUT, IN] };
    case 'memset':
      return { opcode: Opcode.Memset, len, arg0: op.value & 0xff, arg1: 0, blocks: [op.dest], roles: [OUT] };
    case 'xor':
      // When dest is also a source (an implied source), the mapping merges the two roles.
      return { opcode: Opcode.Xor, len, arg0: 0, arg1: 0, blocks: [op.dest, ...op.srcs], roles: [OUT, ...op.srcs.map(() => IN)] };
    case 'xor_val':
      return { opcode: Opcode.XorVal, len, arg0: 0, arg1: 0, blocks: op.srcs, roles: op.srcs.map(() => IN) };
    case 'pq':
      return { opcode: Opcode.Pq, len, arg0: op.rmw ? 1 : 0, arg1: 0, ...pqList(op.data, op.p, op.q, op.rmw ? INOUT : OUT) };
    case 'pq_val':
      return { opcode: Opcode.PqVal, len, arg0: 0, arg1: 0, ...pqList(op.data, op.p, op.q, IN) };
    case 'raid6_2data': {
      const l = pqList(op.data, op.p, op.q, IN);
      l.roles[op.faila] = OUT;
      l.roles[op.failb] = OUT;
      return { opcode: Opcode.Raid6TwoData, len, arg0: op.faila, arg1: op.failb, ...l };
    }
    case 'raid6_datap': {
      // P's contents on entry are ignored: it is rebuilt, like the failed slot.
      const l = pqList(op.data, op.p, op.q, IN);
      l.roles[op.faila] = OUT;
      l.roles[op.data.length] = OUT;
      return { opcode: Opcode.Raid6DataP, len, arg0: op.faila, arg1: 0, ...l };
    }
    case 'interrupt':
      return { opcode: Opcode.Interrupt, len: 0, arg0: 0, arg1: 0, blocks: [], roles: [] };
  }
}
