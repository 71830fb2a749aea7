import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.ts';
import { createLogger } from '../../logging/create-logger.ts';
import { SessionAdmin } from '../../orchestrator/index.ts';
import { buildVCenters } from '../../service/vcenters.ts';
import { isVapiError, type DownloadSessionInfo } from '../../vsphere/index.ts';
import { EXIT } from '../exit-codes.ts';
import { redisForCli } from '../redis-for-cli.ts';
import { CliFailure, runAction } from '../run-action.ts';

interface Row {
  vcenter: string;
  session: string;
  item: string;
  state: string;
  progress: number | null;
  expires: string | null;
  /** The download that owns it, `cldl (orphan)` when cldl recorded it but no download claims it, null when not cldl's. */
  owner: string | null;
}

export function registerSessions(program: Command): void {
  program
    .command('sessions')
    .description("list the download sessions vCenter holds for cldl's user, and which are cldl's")
    .option('--vcenter <name>', 'only this configured vCenter')
    .option('--cleanup', "cancel and delete cldl's sessions that no live download owns (never anyone else's)")
    .option('--json', 'print JSON')
    .action(
      runAction(async (opts: { vcenter?: string; cleanup?: boolean; json?: boolean }) => {
        const config = loadConfig();
        const names = opts.vcenter ? [opts.vcenter] : Object.keys(config.vcenters);
        if (names.length === 0) throw new CliFailure('no vCenter configured: set VCENTER_URL, VCENTER_USERNAME and VCENTER_PASSWORD, or vcenters in a config file', EXIT.config);
        for (const n of names) if (!config.vcenters[n]) throw new CliFailure(`--vcenter: ${n} is not a configured vCenter (known: ${Object.keys(config.vcenters).join(', ')})`, EXIT.usage);
        const logger = createLogger({ level: 'warn', pretty: 'never', destination: process.stderr });
        const redis = await redisForCli(config.redis);
        const vcenters = buildVCenters(config, logger);
        const admin = new SessionAdmin({ redis, prefix: config.redis.prefix, vcenters, logger });
        try {
          if (opts.cleanup) console.error(`cleaned up ${await admin.sweep()} orphaned session(s)`);
          const owners = await admin.owners();
          const rows: Row[] = [];
          for (const name of names) {
            const vc = vcenters.get(name)!;
            for (const id of await vc.sessions.list()) {
              const info = await vc.sessions.get(id).catch((err: unknown): DownloadSessionInfo | undefined => {
                if (isVapiError(err, 'not_found')) return undefined; // ended while we looked
                throw err;
              });
              if (!info) continue;
              rows.push({
                vcenter: name,
                session: id,
                item: info.libraryItemId,
                state: info.state,
                progress: info.clientProgress ?? null,
                expires: info.expirationTime?.toISOString() ?? null,
                owner: owners.get(`${name}/${id}`) ?? null,
              });
            }
          }
          if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
          if (rows.length === 0) return void console.log('no download sessions');
          const table = rows.map((r) => [r.vcenter, r.session, r.item, r.state, r.progress === null ? '-' : `${r.progress}%`, r.expires ?? '-', r.owner ? `cldl: ${r.owner}` : 'not cldl']);
          const header = ['VCENTER', 'SESSION', 'ITEM', 'STATE', 'PROGRESS', 'EXPIRES', 'OWNER'];
          const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
          for (const r of [header, ...table]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
        } finally {
          await admin.close();
          await vcenters.close();
          await redis.quit().catch(() => undefined);
        }
      }),
    );
}
