import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CldlConfig } from '../config/load-config.ts';
import type { DownloadWorkerOptions, VCenterRegistry } from '../orchestrator/index.ts';

/** The configuration's settings in the shape DownloadWorker takes. */
export function workerOptionsFrom(config: CldlConfig, deps: { redis: Redis | Cluster; vcenters: VCenterRegistry; logger: Logger }): DownloadWorkerOptions {
  return {
    redis: deps.redis,
    prefix: config.redis.prefix,
    downloadRoot: config.downloadRoot,
    vcenters: deps.vcenters,
    concurrency: config.worker.concurrency,
    limits: { transfersPerProcess: config.worker.transfersPerProcess, sessionsPerVCenter: config.worker.sessionsPerVCenter },
    job: {
      filesPerJob: config.worker.filesPerJob,
      transfer: {
        attempts: config.transfer.attempts,
        backoff: config.transfer.backoff,
        highWaterMark: config.transfer.highWaterMarkBytes,
        segments: config.transfer.segments,
      },
      prepare: config.prepare,
      sync: config.sync,
      maxSessionRenewals: 3,
    },
    keepAlive: { intervalMs: config.keepAlive.intervalMs, reportIntervalMs: config.keepAlive.reportIntervalMs, tickMs: 250, retry: config.keepAlive.retry },
    lock: config.lock,
    retentionSeconds: config.jobs.retentionSeconds,
    shutdownGraceMs: config.worker.shutdownGraceMs,
    orphanSweepIntervalMs: config.worker.orphanSweepIntervalMs,
    bandwidth: Object.fromEntries(Object.entries(config.vcenters).flatMap(([name, v]) => (v.maxBytesPerSecond ? [[name, v.maxBytesPerSecond]] : []))),
    mirrors: {
      schedules: config.mirrors.map((m) => ({
        name: m.name,
        every: m.every,
        cron: m.cron,
        request: {
          vcenter: m.vcenter ?? 'default',
          library: m.library,
          destination: m.destination,
          prune: m.prune,
          ...(m.items === undefined ? {} : { items: m.items }),
          ...(m.maxBytesPerSecond === undefined ? {} : { maxBytesPerSecond: m.maxBytesPerSecond }),
        },
      })),
      attempts: config.jobs.attempts,
      backoffMs: config.jobs.backoffMs,
    },
    logger: deps.logger,
  };
}
