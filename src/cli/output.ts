/**
 * Machine-readable output of the CLI's commands and the benchmarks' --json: one format for both.
 */

/** Prints a value as one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
