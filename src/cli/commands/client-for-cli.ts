import { loadConfig, type CldlConfig } from '../../config/load-config.ts';
import { DownloadClient } from '../../orchestrator/index.ts';
import { redisForCli } from '../redis-for-cli.ts';

/** The producer client a command needs, from the configuration; close it when done. */
export async function clientForCli(): Promise<{ config: CldlConfig; client: DownloadClient }> {
  const config = loadConfig();
  const redis = await redisForCli(config.redis);
  const names = Object.keys(config.vcenters);
  const client = new DownloadClient({ redis, ownConnection: true, prefix: config.redis.prefix, ...(names.length ? { vcenters: names } : {}), jobs: config.jobs });
  return { config, client };
}
