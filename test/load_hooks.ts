/**
 * Module hooks for load_recorder.ts (they run on node's hooks thread): every
 * module the process loads is appended, as its URL, to the record file.
 */
import { appendFileSync } from 'node:fs';

let record = '';

export function initialize(data: { record: string }): void {
  record = data.record;
}

type Next = (url: string, context: unknown) => Promise<unknown>;

export async function load(url: string, context: unknown, next: Next): Promise<unknown> {
  appendFileSync(record, `module ${url}\n`);
  return next(url, context);
}
