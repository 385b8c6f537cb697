/**
 * Main side: an operation as a ring slot describes it — opcode, arguments,
 * and the block list in the order protocol.ts fixes — and each block's role
 * (read, written) for the mapping layer. Blocks are read from the operation
 * itself, by index: no list is built per descriptor.
 */
import { opLength, ROLE_IN, ROLE_OUT, type BlockList, type HwOp } from '../../provider.js';
import { IO_WORDS, Opcode } from './protocol.js';

const IN = ROLE_IN;
const OUT = ROLE_OUT;
const INOUT = ROLE_IN | ROLE_OUT;

function opcodeOf(op: HwOp): number {
  switch (op.kind) {
    case 'memcpy': return Opcode.Memcpy;
    case 'memset': return Opcode.Memset;
    case 'xor': return Opcode.Xor;
    case 'xor_val': return Opcode.XorVal;
    case 'pq': return Opcode.Pq;
    case 'pq_val': return Opcode.PqVal;
    case 'raid6_2data': return Opcode.Raid6TwoData;
    case 'raid6_datap': return Opcode.Raid6DataP;
    case 'interrupt': return Opcode.Interrupt;
    case 'io_read': return Opcode.IoRead;
    case 'io_write': return Opcode.IoWrite;
  }
}

export class Encoded implements BlockList {
  readonly opcode: number;
  readonly len: number;
  readonly arg0: number;
  readonly arg1: number;
  readonly count: number;

  constructor(readonly op: HwOp) {
    this.opcode = opcodeOf(op);
    this.len = opLength(op);
    this.arg0 = op.kind === 'memset' ? op.value & 0xff : op.kind === 'pq' ? (op.rmw ? 1 : 0) : 'faila' in op ? op.faila : 0;
    this.arg1 = op.kind === 'raid6_2data' ? op.failb : 0;
    switch (op.kind) {
      case 'memcpy': this.count = 2; break;
      case 'memset': this.count = 1; break;
      case 'xor': this.count = op.srcs.length + 1; break;
      case 'xor_val': this.count = op.srcs.length; break;
      case 'interrupt': this.count = 0; break;
      case 'io_read': case 'io_write': this.count = op.blocks.length; break;
      default: this.count = op.data.length + 2;
    }
  }

  /** Block `i` of the list (protocol.ts, Opcode). */
  block(i: number): Uint8Array | null {
    const op = this.op;
    switch (op.kind) {
      case 'memcpy': return i === 0 ? op.dest : op.src;
      case 'memset': return op.dest;
      case 'xor': return i === 0 ? op.dest : op.srcs[i - 1];
      case 'xor_val': return op.srcs[i];
      case 'interrupt': return null;
      case 'io_read': case 'io_write': return op.blocks[i];
      default: return i < op.data.length ? op.data[i] : i === op.data.length ? op.p : op.q;
    }
  }

  /**
   * The words an I/O descriptor carries after its block list (protocol.ts, IoRead):
   * per transfer the target's fd and the position split at 2^32. Empty for other operations.
   */
  ioWords(): number[] {
    const op = this.op;
    if (op.kind !== 'io_read' && op.kind !== 'io_write') return [];
    const words = new Array<number>(op.blocks.length * IO_WORDS);
    for (let i = 0; i < op.blocks.length; i++) {
      const pos = op.positions[i]!;
      words[i * IO_WORDS] = op.targets[i]!.fd!;
      words[i * IO_WORDS + 1] = pos % 0x1_0000_0000 | 0;
      words[i * IO_WORDS + 2] = Math.floor(pos / 0x1_0000_0000);
    }
    return words;
  }

  /** Whether the step reads (ROLE_IN) and/or writes (ROLE_OUT) block `i`. */
  role(i: number): number {
    const n = this.count;
    switch (this.opcode) {
      case Opcode.Memcpy:
      case Opcode.Xor:
        // When an xor's dest is also a source (an implied source), the mapping merges the roles.
        return i === 0 ? OUT : IN;
      case Opcode.Memset:
      case Opcode.IoRead:
        return OUT;
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
