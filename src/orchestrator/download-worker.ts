import { randomUUID } from 'node:crypto';
import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CancelChannel } from './cancel-channel.ts';
import type { DownloadJob, DownloadJobOptions } from './download-job.ts';
import { DownloadCanceledError, DownloadRootError, ShutdownError } from './errors.ts';
import type { OrchestratorEvents } from './events.ts';
import { createDownloadProcessor, type DownloadJobData } from './job-processor.ts';
import { KeepAlive, type KeepAliveOptions } from './keep-alive.ts';
import { BudgetRegistry } from './bandwidth-budget.ts';
import { FileHolds } from './file-holds.ts';
import { keysFor } from './keys.ts';
import { Limits, type LimitOptions } from './limits.ts';
import { LockWatchdog } from './lock-watchdog.ts';
import { runMirror, type MirrorJobData, type MirrorResult } from './mirror-run.ts';
import { syncMirrorSchedules, type MirrorSchedule } from './mirror-schedules.ts';
import { MirrorStore } from './mirror-store.ts';
import { OrphanSweeper } from './orphan-sweeper.ts';
import { checkRedisSettings } from './redis-health.ts';
import { DownloadStateStore, type DownloadResult } from './state.ts';
import type { VCenterRegistry } from './vcenter-registry.ts';

export interface DownloadWorkerOptions {
  /** A connection for commands, created with `maxRetriesPerRequest: null`; BullMQ duplicates it for blocking reads. */
  redis: Redis | Cluster;
  /** Key prefix; `{cldl}` (a hash tag) by default, so that it works on Redis Cluster. */
  prefix: string;
  downloadRoot: string;
  vcenters: VCenterRegistry;
  /** Jobs this process runs at once. */
  concurrency: number;
  limits: LimitOptions;
  job: DownloadJobOptions;
  keepAlive: KeepAliveOptions;
  lock: { durationMs: number; stalledIntervalMs: number; maxStalledCount: number };
  retentionSeconds: number;
  /** How long running jobs may take to finish after SIGTERM before they are requeued. */
  shutdownGraceMs: number;
  orphanSweepIntervalMs: number;
  /** Bytes per second each named vCenter's downloads may take together, over every worker. */
  bandwidth?: Readonly<Record<string, number>>;
  /** Mirror runs to repeat (BullMQ job schedulers), and the options their downloads get. */
  mirrors?: { schedules: readonly MirrorSchedule[]; attempts: number; backoffMs: number };
  logger: Logger;
  workerId?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

/**
 * A cldl worker process's engine: BullMQ's Worker running DownloadJobs, plus what makes it safe
 * to run many of them on many machines (the heartbeat, the cancel channel, the lock watchdog, the
 * orphan sweeper) and to stop one (`shutdown`).
 */
export class DownloadWorker extends EventEmitter<OrchestratorEvents> {
  readonly id: string;
  readonly store: DownloadStateStore;
  readonly #options: DownloadWorkerOptions;
  readonly #worker: Worker<DownloadJobData | MirrorJobData, DownloadResult | MirrorResult>;
  readonly #queue: Queue;
  readonly #keepAlive: KeepAlive;
  readonly #limits: Limits;
  readonly #running = new Map<string, DownloadJob>();
  readonly #watchdog: LockWatchdog;
  readonly #sweeper: OrphanSweeper;
  #cancel: CancelChannel | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(options: DownloadWorkerOptions) {
    super();
    this.#options = options;
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const keys = keysFor(options.prefix);
    const log = options.logger.child({ worker: this.id });
    this.store = new DownloadStateStore(options.redis, keys, options.retentionSeconds);
    this.#keepAlive = new KeepAlive(options.keepAlive);
    this.#keepAlive.on('beat', () => this.emit('keepalive', { outcome: 'ok' }));
    this.#keepAlive.on('lastBeat', () => this.emit('keepalive', { outcome: 'ok' }));
    this.#keepAlive.on('failed', (e) => {
      this.emit('keepalive', { outcome: 'failed' });
      log.warn({ err: e.error, downloadId: e.key, sessionId: e.sessionId, failures: e.failures, retryInMs: e.retryInMs }, 'keep-alive failed');
    });
    this.#keepAlive.on('lost', () => this.emit('keepalive', { outcome: 'lost' }));
    this.#keepAlive.on('reportFailed', (e) => log.warn({ err: e.error, downloadId: e.key }, 'progress report failed'));
    this.#limits = new Limits(options.limits);
    this.#queue = new Queue(keys.queue, { connection: options.redis, prefix: options.prefix });
    this.#queue.on('error', (err) => log.warn({ err }, 'queue connection error'));

    const downloads = createDownloadProcessor({
      store: this.store,
      vcenters: options.vcenters,
      keepAlive: this.#keepAlive,
      budgets: new BudgetRegistry(options.redis, (name) => keys.budget(name), options.bandwidth ?? {}),
      // A worker that died lets go of its files within this long (or the same download takes them back).
      holds: new FileHolds(options.redis, keys, Math.max(60_000, 2 * options.lock.durationMs)),
      limits: this.#limits,
      downloadRoot: options.downloadRoot,
      workerId: this.id,
      options: options.job,
      logger: log,
      events: this,
      running: this.#running,
      isClosing: () => this.#closing,
    });
    const mirrorDeps = {
      store: new MirrorStore(options.redis, keys, options.retentionSeconds),
      downloads: this.store,
      queue: this.#queue,
      vcenters: options.vcenters,
      downloadRoot: options.downloadRoot,
      jobs: { attempts: options.mirrors?.attempts ?? 5, backoffMs: options.mirrors?.backoffMs ?? 5_000, retentionSeconds: options.retentionSeconds },
      logger: log,
    };
    // One queue: downloads, and the mirror runs whose items are downloads (children in a BullMQ flow).
    const processor = (job: Job<DownloadJobData | MirrorJobData, DownloadResult | MirrorResult>, token?: string, signal?: AbortSignal): Promise<DownloadResult | MirrorResult> =>
      job.name === 'mirror'
        ? runMirror(job as Job<MirrorJobData, MirrorResult>, token, mirrorDeps, signal ?? new AbortController().signal)
        : downloads(job as Job<DownloadJobData, DownloadResult>, token, signal);
    this.#worker = new Worker<DownloadJobData | MirrorJobData, DownloadResult | MirrorResult>(keys.queue, processor, {
      connection: options.redis,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lock.durationMs,
      stalledInterval: options.lock.stalledIntervalMs,
      maxStalledCount: options.lock.maxStalledCount,
      autorun: false,
      name: this.id,
    });
    // An 'error' without a listener would crash the process; BullMQ reports connection trouble here.
    this.#worker.on('error', (err) => log.warn({ err }, 'worker error'));
    this.#watchdog = new LockWatchdog(this.#worker, this.#running, options.lock.durationMs);
    this.#sweeper = new OrphanSweeper({ store: this.store, queue: this.#queue, vcenters: options.vcenters, logger: log }, options.orphanSweepIntervalMs);
  }

  /** Starts taking jobs. Resolves once the worker's connections are ready. */
  static async start(options: DownloadWorkerOptions): Promise<DownloadWorker> {
    await openDownloadRoot(options.downloadRoot);
    const w = new DownloadWorker(options);
    for (const warning of await checkRedisSettings(options.redis)) options.logger.warn(warning);
    w.#cancel = await CancelChannel.listen(options.redis, keysFor(options.prefix).cancelChannel, (id) => w.#onCancelNotice(id), options.logger);
    void w.#worker.run().catch((err: unknown) => options.logger.error({ err }, 'worker stopped'));
    await w.#worker.waitUntilReady();
    void w.#sweeper.sweep().catch(() => undefined);
    if (options.mirrors) {
      await syncMirrorSchedules(w.#queue, options.mirrors.schedules, { ...options.mirrors, retentionSeconds: options.retentionSeconds, vcenters: options.vcenters.names() }, options.logger);
    }
    options.logger.info({ worker: w.id, concurrency: options.concurrency }, 'worker started');
    return w;
  }

  /** Jobs running in this process right now. */
  get activeJobs(): number {
    return this.#running.size;
  }

  get activeTransfers(): number {
    return this.#limits.activeTransfers;
  }

  /** BullMQ's job counts by state, for the whole queue. */
  jobCounts(): Promise<Record<string, number>> {
    return this.#queue.getJobCounts();
  }

  /** The worker processes connected to the queue, as BullMQ knows them (every machine's). */
  async workers(): Promise<Array<{ name: string; addr?: string; age?: number }>> {
    const clients = await this.#queue.getWorkers();
    // BullMQ names a worker's connection PREFIX:QUEUE:w:NAME; NAME is the worker's id (host:pid:…).
    return clients.map((c) => {
      const raw = c.rawname ?? '';
      const at = raw.indexOf(':w:');
      return { name: at >= 0 ? raw.slice(at + 3) : (c.name ?? '?'), addr: c.addr, age: Number(c.age) || undefined };
    });
  }

  /** Sweeps orphaned sessions now (it also runs at start and on an interval). */
  sweepOrphans(): Promise<number> {
    return this.#sweeper.sweep();
  }

  /**
   * Ready to take work: not shutting down, the run loop going, the command connection answering,
   * and the blocking connection (the one BZPOPMIN waits on) ready. A worker whose blocking
   * connection is wedged looks healthy to a plain PING: BullMQ issue 4585.
   */
  async readiness(): Promise<Readiness> {
    const checks: Record<string, string> = {};
    checks.shutdown = this.#closing ? 'shutting down' : 'ok';
    checks.running = this.#worker.isRunning() ? 'ok' : 'not running';
    try {
      await withTimeout(this.#options.redis.ping(), 2000);
      checks.redis = 'ok';
    } catch (err) {
      checks.redis = `unreachable: ${(err as Error).message}`;
    }
    try {
      const client: Promise<unknown> = this.#worker.backend.blockingClient ?? Promise.reject(new Error('none'));
      const blocking = await withTimeout<{ status?: string }>(client as Promise<{ status?: string }>, 2000);
      checks.blockingConnection = blocking.status === 'ready' ? 'ok' : `status ${blocking.status}`;
    } catch (err) {
      checks.blockingConnection = `unavailable: ${(err as Error).message}`;
    }
    return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
  }

  /**
   * Graceful stop: take no new job, let running ones finish within the grace period, then requeue
   * the rest without spending an attempt (their sessions stay ACTIVE for the next worker), and
   * close every connection this worker opened.
   */
  shutdown(graceMs = this.#options.shutdownGraceMs): Promise<void> {
    this.#closed ??= this.#shutdown(graceMs);
    return this.#closed;
  }

  /**
   * Bounded whatever Redis does: every step that needs Redis (pausing, requeueing, closing) gets
   * what is left of `graceMs` plus a few seconds, then the worker lets go. A job it could not
   * requeue keeps its lock until the lock expires; then the stalled-job check hands it on, and its
   * session and bytes on disk are resumed as after a crash.
   */
  async #shutdown(graceMs: number): Promise<void> {
    const log = this.#options.logger;
    this.#closing = true;
    const deadline = Date.now() + graceMs;
    const hardDeadline = deadline + SHUTDOWN_CLOSE_MS;
    log.info({ running: this.#running.size, graceMs }, 'shutting down: no new jobs');
    await settleWithin(this.#worker.pause(true), deadline);
    while (this.#running.size > 0 && Date.now() < deadline) await sleep(Math.min(100, deadline - Date.now()));
    if (this.#running.size > 0) {
      log.info({ jobs: [...this.#running.keys()] }, 'grace period over: requeueing running jobs');
      for (const run of this.#running.values()) run.abort(new ShutdownError());
      const requeued = Math.min(hardDeadline - SHUTDOWN_CLOSE_MS / 2, Date.now() + 15_000);
      while (this.#running.size > 0 && Date.now() < requeued) await sleep(50);
      if (this.#running.size > 0) log.warn({ jobs: [...this.#running.keys()] }, 'could not requeue every job in time (is Redis reachable?); their locks will expire');
    }
    if (!(await settleWithin(this.#closeAll(), hardDeadline))) {
      log.warn('connections did not close in time (is Redis reachable?); dropping them');
      await settleWithin(this.#closeAll(true), Date.now() + 500);
    }
    log.info('worker stopped');
  }

  /** Stops at once (tests, fatal errors): running jobs are abandoned to the stalled-job check. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= this.#closeAll(true);
    return this.#closed;
  }

  async #closeAll(force = false): Promise<void> {
    this.#watchdog.close();
    this.#sweeper.close();
    this.#keepAlive.close();
    await this.#cancel?.close();
    await this.#worker.close(force);
    await this.#queue.close();
  }

  #onCancelNotice(id: string): void {
    const run = this.#running.get(id);
    if (!run) return;
    this.#options.logger.info({ downloadId: id }, 'cancel requested');
    run.abort(new DownloadCanceledError('the download was canceled'));
  }
}

/** What a shutdown may spend, after the grace period, requeueing jobs and closing connections. */
const SHUTDOWN_CLOSE_MS = 4_000;

/** Waits for `promise` until `deadline`; true if it settled (either way) in time. */
async function settleWithin(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  const left = deadline - Date.now();
  if (left <= 0) return false;
  return Promise.race([promise.then(() => true, () => true), sleep(left, false, { ref: false })]);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms, undefined, { ref: false }).then(() => {
      throw new Error(`no answer within ${ms} ms`);
    }),
  ]);
}

/**
 * Destinations are created under the root; the root itself must exist, and be writable, before any
 * job runs. This is the one place that creates it.
 */
async function openDownloadRoot(root: string): Promise<void> {
  try {
    await mkdir(root, { recursive: true });
    await access(root, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DownloadRootError(root, code === 'EACCES' || code === 'EROFS' || code === 'EPERM' ? 'it is not writable by this process' : `it cannot be created (${code ?? String(err)})`, err);
  }
}
