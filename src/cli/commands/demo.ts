import type { Command } from 'commander';
import { runDemo } from '../demo.ts';
import { runAction } from '../run-action.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('download two items from the built-in simulator with a worker, showing progress; needs only Redis (`npm run demo`)')
    .action(runAction(() => runDemo()));
}
