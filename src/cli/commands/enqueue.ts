import { InvalidArgumentError, type Command } from 'commander';
import { DownloadFailedError } from '../../orchestrator/index.ts';
import { EXIT } from '../exit-codes.ts';
import { formatBytes } from '../format.ts';
import { ProgressDisplay } from '../progress-display.ts';
import { CliFailure, refusedAsUsage, runAction } from '../run-action.ts';
import { clientForCli } from './client-for-cli.ts';

interface EnqueueOptions {
  item: string;
  dest: string;
  vcenter?: string;
  files?: string[];
  id?: string;
  overwrite?: boolean;
  wait?: boolean;
}

export function registerEnqueue(program: Command): void {
  const command = program
    .command('enqueue')
    .description('queue the download of a library item and print its id')
    .requiredOption('--item <id>', 'the library item id')
    .requiredOption('--dest <dir>', 'destination directory, relative to the download root')
    .option('--vcenter <name>', 'a configured vCenter (default: default)')
    .option('--files <names>', 'only these files of the item, comma-separated', parseList)
    .option('--id <id>', 'the download id; the same id is always one download')
    .option('--overwrite', 'replace files that exist at the destination')
    .option('--wait', 'follow the download to its end: exit 0 on success, 1 with the reason otherwise');
  command.action(
    runAction(async (opts: EnqueueOptions) => {
      const { client } = await clientForCli();
      try {
        const request = {
          libraryItemId: opts.item,
          destination: opts.dest,
          ...(opts.vcenter ? { vcenter: opts.vcenter } : {}),
          ...(opts.files ? { files: opts.files } : {}),
          ...(opts.overwrite ? { overwrite: true } : {}),
        };
        const id = await refusedAsUsage(command, () => client.enqueueDownload(request, opts.id ? { id: opts.id } : {}));
        console.log(id);
        if (!opts.wait) return EXIT.ok;

        const display = new ProgressDisplay();
        client.on('progress', (jobId, p) => jobId === id && display.update(id.slice(0, 8), p));
        try {
          const result = await client.waitForDownload(id);
          display.done();
          console.error(`completed: ${formatBytes(result.totalBytes)} in ${(result.durationMs / 1000).toFixed(1)} s`);
          for (const f of result.files) {
            console.error(`  ${f.name}  ${formatBytes(f.size)}  ${f.checksumAlgorithm} ${f.checksum}${f.verified ? '  verified' : ''}`);
          }
          return EXIT.ok;
        } catch (err) {
          display.done();
          if (err instanceof DownloadFailedError) throw new CliFailure(err.message);
          throw err;
        }
      } finally {
        await client.close();
      }
    }),
  );
}

function parseList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('expected file names, comma-separated');
  return names;
}
