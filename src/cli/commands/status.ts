import type { Command } from 'commander';
import { formatStatus } from '../format.ts';
import { CliFailure, runAction } from '../run-action.ts';
import { clientForCli } from './client-for-cli.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show a download: state, progress, session, result or last error')
    .argument('<id>', 'the download id')
    .option('--json', 'print the record as JSON')
    .action(
      runAction(async (id: string, opts: { json?: boolean }) => {
        const { client } = await clientForCli();
        try {
          const status = await client.getDownload(id);
          if (!status) throw new CliFailure(`no download ${id} (finished downloads are kept for jobs.retentionSeconds)`);
          console.log(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
        } finally {
          await client.close();
        }
      }),
    );
}
