import { InvalidArgumentError, Option, type Command } from 'commander';
import { DOWNLOAD_STATES, type DownloadState } from '../../orchestrator/index.ts';
import { runAction } from '../run-action.ts';
import { clientForCli } from './client-for-cli.ts';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list downloads, newest first')
    .addOption(new Option('--state <state>', 'only downloads in this state').choices(DOWNLOAD_STATES))
    .option('--limit <n>', 'at most this many', parseLimit, 50)
    .option('--json', 'print JSON')
    .action(
      runAction(async (opts: { state?: DownloadState; limit: number; json?: boolean }) => {
        const { client } = await clientForCli();
        try {
          const downloads = await client.listDownloads({ ...(opts.state ? { state: opts.state } : {}), limit: opts.limit });
          if (opts.json) return void console.log(JSON.stringify(downloads, null, 2));
          if (downloads.length === 0) return void console.log('no downloads');
          const rows = downloads.map((d) => [d.id, d.state, `${d.progress.percent}%`, d.request.libraryItemId, d.request.destination, d.updatedAt]);
          const header = ['ID', 'STATE', 'DONE', 'ITEM', 'DESTINATION', 'UPDATED'];
          const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
          for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
        } finally {
          await client.close();
        }
      }),
    );
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('expected a whole number from 1 to 1000');
  return n;
}
