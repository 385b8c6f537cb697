/**
 * The arrays an operation's blocks are checked into (pqViews, xorSources), lent from a
 * short free list so that a step on the synchronous fast path allocates no array: the
 * fast path gives its op's list back once the kernel ran, when nothing refers to the op
 * any more; a step on the general path keeps its list, as its op outlives the call.
 * A call made while another is being checked (a getter calling back in) just takes
 * another list.
 */
import type { HwOp } from '../dmaengine/index.js';

type List = Array<Uint8Array | null>;

const free: List[] = [];
/** More lists than calls can be in progress at once would only hold memory. */
const MAX_FREE = 8;

/** An empty list to push views into. */
export function leaseList(): List {
  return free.pop() ?? [];
}

/** Gives back the list of `op` (one lent by leaseList) once nothing refers to the op. */
export function returnOpList(op: HwOp): void {
  const list = listOf(op);
  if (list === null) return;
  // pop, not `length = 0`: emptying the array that way also drops its room.
  while (list.length > 0) list.pop();
  if (free.length < MAX_FREE) free.push(list);
}

function listOf(op: HwOp): List | null {
  switch (op.kind) {
    case 'xor': case 'xor_val': return op.srcs as List;
    case 'pq': case 'pq_val': case 'raid6_2data': case 'raid6_datap': return op.data as List;
    default: return null;
  }
}
