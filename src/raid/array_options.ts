/**
 * How a RaidArray runs: where its parity work goes, its stripe cache, its clean/dirty timing,
 * how stripes reach the members, and what it owns. Assembly and creation take these too
 * (AssembleOptions, CreateOptions extend them).
 */
import type { RaidOps } from './ops.js';

export interface RaidArrayOptions {
  /** Where parity work runs: the module functions (default) or a client with engines. */
  readonly ops?: RaidOps;
  /** Refuse every write, superblocks included. */
  readonly readonly?: boolean;
  /** Stripe head width in bytes (default min(chunk, 512 KiB)). */
  readonly unit?: number;
  /** Stripe heads in the cache (default: about 64 MiB of buffers, 8..256). */
  readonly cacheStripes?: number;
  /** Idle time after the last write before the array is marked clean (md's safe_mode_delay; default 200 ms). */
  readonly cleanDelayMs?: number;
  /** Receives one line per event worth telling (member failed, resync started…). */
  readonly log?: (message: string) => void;
  /** Close the members on stop() (assembly from paths sets this). */
  readonly ownsMembers?: boolean;
  /** Close `ops` (a client made for this array) on stop(), after the last I/O. */
  readonly ownsOps?: boolean;
  /** Largest merged member request: consecutive stripes' I/O to one member goes out as one request up to this size (default DEFAULT_MERGE_BYTES, 1 MiB). */
  readonly mergeBytes?: number;
  /**
   * How stripes reach their members (default 'queue'): 'queue' issues member reads and writes
   * from the main thread through per-member queues that merge adjacent requests; 'chain'
   * submits them as steps of the stripe's async_tx chain, so an engine holding the members'
   * file descriptors runs reads, parity and writes with one doorbell, off the main thread.
   * 'queue' is the default because it measured faster on a 2-core machine with one worker
   * (docs/performance); 'chain' frees the main thread's I/O and is the path to more engines.
   */
  readonly memberIo?: 'chain' | 'queue';
  /** Milliseconds between passes of the write-intent bitmap daemon (md's daemon_sleep; default the bitmap's own, 5 s). */
  readonly bitmapDaemonMs?: number;
}
