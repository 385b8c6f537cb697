/**
 * Main side: an operation as a ring slot describes it — opcode, arguments,
 * and the block list in the order protocol.ts fixes — and each block's role
 * (read, written) for the mapping layer, computed only when asked (the
 * in-place path never asks).
 */
import { opLength, ROLE_IN, ROLE_OUT, type HwOp } from '../../provider.js';
import { Opcode } from './protocol.js';

const IN = ROLE_IN;
const OUT = ROLE_OUT;
const INOUT = ROLE_IN | ROLE_OUT;

export class Encoded {
  constructor(
    readonly opcode: number,
    readonly len: number,
    readonly arg0: number,
    readonly arg1: number,
    readonly blocks: ReadonlyArray<Uint8Array | null>,
  ) {}

  /** Whether the step reads (ROLE_IN) and/or writes (ROLE_OUT) block `i`. */
  role(i: number): number {
    const n = this.blocks.length;
    switch (this.opcode) {
      case Opcode.Memcpy:
        return i === 0 ? OUT : IN;
      case Opcode.Memset:
        return OUT;
      case Opcode.Xor:
        // When dest is also a source (an implied source), the mapping merges the two roles.
        return i === 0 ? OUT : IN;
      case Opcode.Pq:
        return i < n - 2 ? IN : this.arg0 !== 0 ? INOUT : OUT;
      case Opcode.Raid6TwoData:
        // The failed slots' contents on entry are ignored: they are rebuilt.
        return i === this.arg0 || i === this.arg1 ? OUT : IN;
      case Opcode.Raid6DataP:
        // So is P's.
        return i === this.arg0 || i === n - 2 ? OUT : IN;
      default:
        return IN;
    }
  }
}

export function encode(op: HwOp): Encoded {
  const len = opLength(op);
  switch (op.kind) {
    case 'memcpy':
      return new Encoded(Opcode.Memcpy, len, 0, 0, [op.dest, op.src]);
    case 'memset':
      return new Encoded(Opcode.Memset, len, op.value & 0xff, 0, [op.dest]);
    case 'xor':
      return new Encoded(Opcode.Xor, len, 0, 0, [op.dest, ...op.srcs]);
    case 'xor_val':
      return new Encoded(Opcode.XorVal, len, 0, 0, op.srcs);
    case 'pq':
      return new Encoded(Opcode.Pq, len, op.rmw ? 1 : 0, 0, [...op.data, op.p, op.q]);
    case 'pq_val':
      return new Encoded(Opcode.PqVal, len, 0, 0, [...op.data, op.p, op.q]);
    case 'raid6_2data':
      return new Encoded(Opcode.Raid6TwoData, len, op.faila, op.failb, [...op.data, op.p, op.q]);
    case 'raid6_datap':
      return new Encoded(Opcode.Raid6DataP, len, op.faila, 0, [...op.data, op.p, op.q]);
    case 'interrupt':
      return new Encoded(Opcode.Interrupt, 0, 0, 0, []);
  }
}
