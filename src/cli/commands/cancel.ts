import type { Command } from 'commander';
import { CliFailure, runAction } from '../run-action.ts';
import { clientForCli } from './client-for-cli.ts';

const SAID = {
  removed: 'canceled: it had not started, so it was taken off the queue',
  canceling: 'canceling: the worker running it stops, cancels the vCenter session and removes its partial files',
  finished: 'nothing to do: it has already finished',
} as const;

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel a download, wherever it is')
    .argument('<id>', 'the download id')
    .action(
      runAction(async (id: string) => {
        const { client } = await clientForCli();
        try {
          const outcome = await client.cancelDownload(id);
          if (outcome === 'unknown') throw new CliFailure(`no download ${id}`);
          console.log(`${id}: ${SAID[outcome]}`);
        } finally {
          await client.close();
        }
      }),
    );
}
