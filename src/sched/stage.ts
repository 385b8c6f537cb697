/**
 * Staging for re-runs. An operation that reads its own destination (xor with
 * dest as an implied source, pq read-modify-write) is not idempotent: if an
 * engine fails it half way, running it again elsewhere would apply some bytes
 * twice. Such a step's outputs are copied aside before the engine starts and
 * copied back before a re-run.
 */
import { opOutputs, overlapsAny, type HwOp } from '../dmaengine/index.js';

/** Whether `op` reads bytes it also writes. */
export function readsItsOutput(op: HwOp): boolean {
  switch (op.kind) {
    case 'xor':
      return overlapsAny(op.dest, op.srcs);
    case 'pq':
      return op.rmw;
    default:
      return false;
  }
}

/** The saved outputs of one step. */
export class Stage {
  private constructor(private readonly saved: ReadonlyArray<readonly [Uint8Array, Uint8Array]>) {}

  /** Saves `op`'s outputs if a re-run would need them, else returns null. */
  static of(op: HwOp): Stage | null {
    if (!readsItsOutput(op)) return null;
    return new Stage(opOutputs(op).map((out) => [out, out.slice()] as const));
  }

  /** Puts the outputs back as they were before the first attempt. */
  restore(): void {
    for (const [out, copy] of this.saved) out.set(copy);
  }
}
