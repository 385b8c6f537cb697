/**
 * commander, loaded by require(): it is CommonJS, and an ES import of it costs
 * every command's start a few milliseconds more (Node scans a CommonJS
 * module's source for its export names first). The CLI and the benchmarks
 * take its classes from here.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const { Command, CommanderError, InvalidArgumentError, Option } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
export type InvalidArgumentError = Commander.InvalidArgumentError;
export type Option = Commander.Option;
