// A cldl worker in its own process, as the `cldl worker` command will run one: configured by the
// JSON in CLDL_BENCH_WORKER, it logs JSON lines to stdout (pino, level info, as in production) and
// shuts down gracefully on SIGTERM, then exits (so `--cpu-prof` writes its profile).
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { DownloadWorker, MapVCenterRegistry } from '../../src/orchestrator/index.ts';
import { VCenterClient } from '../../src/vsphere/index.ts';
import type { WorkerSettings } from './worker-settings.ts';

export interface WorkerProcessConfig {
  redisUrl: string;
  prefix: string;
  root: string;
  vcenter: { url: string; username: string; password: string; api: 'rest' | 'api'; ca?: string | undefined };
  worker: WorkerSettings;
}

const config = JSON.parse(process.env.CLDL_BENCH_WORKER ?? '{}') as WorkerProcessConfig;
const logger = pino({ level: process.env.CLDL_BENCH_LOG ?? 'info' });
const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
const { ca, ...vcenterOptions } = config.vcenter;
// CLDL_BENCH_COUNT_CALLS=1: count vAPI calls per operation, logged at shutdown (job anatomy).
const calls: Record<string, number> = {};
const onCall = process.env.CLDL_BENCH_COUNT_CALLS ? (e: { operation: string }) => void (calls[e.operation] = (calls[e.operation] ?? 0) + 1) : undefined;
const vcenter = new VCenterClient({ ...vcenterOptions, ...(ca === undefined ? {} : { tls: { ca } }), onCall, logger });
const registry = new MapVCenterRegistry([vcenter]);
const worker = await DownloadWorker.start({ ...config.worker, redis, prefix: config.prefix, downloadRoot: config.root, vcenters: registry, logger });
logger.info({ event: 'ready' }, 'bench worker ready');

process.once('SIGTERM', () => {
  void (async () => {
    await worker.shutdown();
    await registry.close();
    await redis.quit();
    logger.info({ event: 'stopped', vapiCalls: calls }, 'bench worker stopped');
    logger.flush();
    process.exit(0);
  })();
});
