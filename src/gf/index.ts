export * from './gf256.js';
