import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.ts';
import { createLogger } from '../../logging/create-logger.ts';
import { workerEnvironment, workerNodeFlags } from '../../service/node-flags.ts';
import { runWorkerDaemon } from '../../service/worker-daemon.ts';
import { reexecWithNodeFlags } from '../reexec-with-node-flags.ts';
import { runAction } from '../run-action.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run the daemon: download workers and the admin HTTP server (health, metrics, JSON API); `npm start` runs it')
    .option('--pretty', 'pretty logs even when stdout is not a terminal')
    .option('--json-logs', 'JSON logs even on a terminal')
    .action(
      runAction(async (opts: { pretty?: boolean; jsonLogs?: boolean }) => {
        // First, so that everything below happens once, in the process that does the work.
        await reexecWithNodeFlags(workerNodeFlags(), workerEnvironment());
        const config = loadConfig();
        const logger = createLogger({ level: config.log.level, pretty: opts.pretty ? 'always' : opts.jsonLogs ? 'never' : config.log.pretty });
        await runWorkerDaemon(config, logger);
        // Runs until a signal stops it (runWorkerDaemon exits the process then).
        await new Promise<never>(() => undefined);
      }),
    );
}
