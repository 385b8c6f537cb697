export * from './gf/index.js';
