/** The provider API: what an engine implements and how the core reaches it. */
export * from './capability.js';
export * from './cookie.js';
export * from './channel.js';
export * from './operation.js';
export * from './registry.js';
