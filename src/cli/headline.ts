import type { Command } from 'commander';
export function registerHeadline(program: Command): void {
  void program;
}
