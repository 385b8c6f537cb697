/** The shared arena and its block allocator (see arena.ts), and the layout workers read. */
export {
  Arena,
  BLOCK_ALIGN,
  DEFAULT_ARENA_MB,
  allocBlock,
  arena,
  arenaMegabytesFromEnv,
  arenaMemory,
  createArena,
  freeBlock,
  isArenaBlock,
  type ArenaUsage,
} from './arena.js';
export { ArenaConfigError, ArenaExhaustedError, ArenaFreeError } from './errors.js';
export { ARENA_LAYOUT_VERSION, readArenaHeader, type ArenaHeader, type Region } from './layout.js';
