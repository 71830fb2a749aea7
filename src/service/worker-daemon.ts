import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ConfigError } from '../config/config-error.ts';
import { configWarnings } from '../config/config-warnings.ts';
import { isLoopback, type CldlConfig } from '../config/load-config.ts';
import { maskCredentials } from '../config/mask-credentials.ts';
import { DownloadClient, DownloadRootError, DownloadWorker } from '../orchestrator/index.ts';
import { startAdminServer, type AdminServer } from './admin-http.ts';
import { Metrics } from './metrics.ts';
import { StatusBoard } from './status-board.ts';
import { nodeFlagsInEffect } from './node-flags.ts';
import { connectRedis, describeRedis } from './redis-connection.ts';
import { buildVCenters } from './vcenters.ts';
import { workerOptionsFrom } from './worker-options.ts';

export interface WorkerDaemon {
  worker: DownloadWorker;
  http: AdminServer;
  metrics: Metrics;
  /** Graceful stop: not ready at once, running jobs finish or are requeued, everything closed. */
  shutdown(): Promise<void>;
}

/**
 * `cldl worker`: the BullMQ worker, the admin HTTP server and the metrics, started from a
 * validated configuration and stopped in the reverse order.
 */
export async function startWorkerDaemon(config: CldlConfig, logger: Logger): Promise<WorkerDaemon> {
  const names = Object.keys(config.vcenters);
  if (names.length === 0) {
    throw new ConfigError([
      'vcenters: none configured; set VCENTER_URL, VCENTER_USERNAME and VCENTER_PASSWORD (or VCENTER_PASSWORD_FILE), or add vcenters to a config file',
    ]);
  }

  for (const warning of configWarnings(config)) logger.warn(warning);
  const redis = connectRedis(config.redis, logger);
  // The vCenter clients report to the metrics, and the metrics read the worker they feed.
  const started: { worker?: DownloadWorker } = {};
  const metrics = new Metrics({
    jobCounts: () => started.worker?.jobCounts() ?? Promise.resolve({}),
    activeTransfers: () => started.worker?.activeTransfers ?? 0,
  });
  const vcenters = buildVCenters(config, logger, metrics.onVapiCall);
  const worker = await DownloadWorker.start(workerOptionsFrom(config, { redis, vcenters, logger })).catch(async (err: unknown) => {
    await vcenters.close();
    redis.disconnect();
    // A download root the process cannot use is a configuration problem (exit 78), like any other.
    if (err instanceof DownloadRootError) throw new ConfigError([`downloadRoot: ${err.message}`]);
    throw err;
  });
  started.worker = worker;
  metrics.observe(worker);
  const client = new DownloadClient({ redis, prefix: config.redis.prefix, vcenters: names, jobs: config.jobs });
  let draining = false;
  const api = isLoopback(config.http.host) || config.http.token !== undefined;
  if (!api) logger.warn({ host: config.http.host }, 'the HTTP download API is off: it would listen beyond loopback without a token (set http.token)');
  const http = await startAdminServer({
    host: config.http.host,
    port: config.http.port,
    token: config.http.token,
    api,
    client,
    status: new StatusBoard({ client, worker, vcenters }),
    metrics,
    readiness: () => worker.readiness(),
    draining: () => draining,
    logger,
  });
  logger.info(
    {
      http: http.url,
      redis: describeRedis(config.redis),
      prefix: config.redis.prefix,
      downloadRoot: config.downloadRoot,
      concurrency: config.worker.concurrency,
      nodeFlags: nodeFlagsInEffect(),
      vcenters: Object.fromEntries(Object.entries(config.vcenters).map(([n, v]) => [n, maskCredentials(v.url)])),
    },
    'cldl worker ready',
  );

  let stopping: Promise<void> | undefined;
  return {
    worker,
    http,
    metrics,
    shutdown() {
      stopping ??= (async () => {
        draining = true;
        await worker.shutdown(config.worker.shutdownGraceMs);
        // After the worker, nothing here may wait on Redis or vCenter for long.
        const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), sleep(1_000, undefined, { ref: false })]);
        await bounded(http.close());
        await bounded(client.close());
        await bounded(vcenters.close());
        if ((await bounded(redis.quit())) === undefined) redis.disconnect();
      })();
      return stopping;
    },
  };
}

/**
 * Runs the daemon until SIGTERM or SIGINT: the first one stops it gracefully and exits 0, a second
 * one exits at once (1).
 */
export async function runWorkerDaemon(config: CldlConfig, logger: Logger): Promise<void> {
  const daemon = await startWorkerDaemon(config, logger);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    logger.info({ signal, graceMs: config.worker.shutdownGraceMs }, 'stopping');
    // The last word: whatever Redis or vCenter do, the process is gone within the grace period and 5 s.
    setTimeout(() => {
      logger.error('shutdown did not finish within the grace period and 5 s; exiting');
      logger.flush?.();
      process.exit(1);
    }, config.worker.shutdownGraceMs + 5_000 - 250).unref();
    daemon.shutdown().then(
      () => {
        logger.info('stopped');
        logger.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A stray rejection is a bug to log, not a reason to drop every running download.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
}
