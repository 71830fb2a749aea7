import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { Queue, QueueEvents } from 'bullmq';
import { Redis, type Cluster } from 'ioredis';
import { CancelChannel } from './cancel-channel.ts';
import { parseDownloadId, parseDownloadRequest } from './download-request.ts';
import { DownloadFailedError, InvalidRequestError } from './errors.ts';
import { jobOptions } from './job-options.ts';
import type { DownloadJobData } from './job-processor.ts';
import { keysFor, type Keys } from './keys.ts';
import { MirrorClient } from './mirror-client.ts';
import type { MirrorResult } from './mirror-run.ts';
import { MirrorStore, type MirrorStatus } from './mirror-store.ts';
import { DownloadStateStore, TERMINAL_STATES, type DownloadProgress, type DownloadResult, type DownloadState, type DownloadStatus } from './state.ts';

export interface DownloadClientOptions {
  /** A Redis URL, or a connection to share (it must have `maxRetriesPerRequest: null`). */
  redis: string | Redis | Cluster;
  /**
   * The client owns the connection given in `redis`: `close()` quits it too. (A URL is always
   * owned; a shared connection is left open by default.)
   */
  ownConnection?: boolean;
  /** The workers' prefix; `{cldl}` by default. */
  prefix?: string;
  /** When given, requests naming another vCenter are refused at once instead of failing in a worker. */
  vcenters?: readonly string[];
  jobs?: {
    /** Tries per download, counting the first. */
    attempts?: number;
    /** First retry delay; each next one doubles. */
    backoffMs?: number;
    /** How long finished downloads stay visible. */
    retentionSeconds?: number;
  };
}

export interface DownloadClientEvents {
  progress: [id: string, progress: DownloadProgress];
  completed: [id: string, result: DownloadResult];
  failed: [id: string, reason: string];
  canceled: [id: string, reason: string];
  'mirror-completed': [id: string, result: MirrorResult];
  'mirror-failed': [id: string, reason: string];
}

export type CancelOutcome =
  /** The download had not started: removed from the queue. */
  | 'removed'
  /** A worker is running it: it stops, cancels the session and removes its partial files. */
  | 'canceling'
  /** It already ended; nothing changed. */
  | 'finished'
  | 'unknown';

/** A download's record as clients see it. */
export type PublicDownloadStatus = Omit<DownloadStatus, 'clientToken'>;

/**
 * The client token is the idempotency key a worker creates its vCenter session with (a successor
 * that sends it again gets the same session). Only workers need it, and they read it from Redis:
 * it has no business going further (to `cldl status`, the HTTP API, an application's own users).
 */
function withoutClientToken(status: DownloadStatus): PublicDownloadStatus {
  const { clientToken: _token, ...rest } = status;
  return rest;
}

const DEFAULT_PREFIX = '{cldl}';
/** How long finished downloads stay visible unless `jobs.retentionSeconds` says otherwise: 7 days. */
const DEFAULT_RETENTION_SECONDS = 7 * 86_400;

/**
 * The producer API for other services: enqueue a download, follow it, cancel it. It needs only
 * Redis: no vCenter credentials ever pass through here or through the job.
 */
export class DownloadClient extends EventEmitter<DownloadClientEvents> {
  readonly #redis: Redis | Cluster;
  readonly #ownsRedis: boolean;
  readonly #keys: Keys;
  readonly #queue: Queue<DownloadJobData, DownloadResult>;
  readonly #store: DownloadStateStore;
  readonly #mirrors: MirrorClient;
  readonly #options: DownloadClientOptions;
  #events: Promise<QueueEvents> | undefined;
  #eventsConnection: Redis | Cluster | undefined;

  constructor(options: DownloadClientOptions) {
    super();
    this.#options = options;
    this.#ownsRedis = typeof options.redis === 'string' || options.ownConnection === true;
    this.#redis = typeof options.redis === 'string' ? new Redis(options.redis, { maxRetriesPerRequest: null }) : options.redis;
    // ioredis reconnects by itself; an 'error' without a listener would crash the producer's process.
    if (typeof options.redis === 'string') this.#redis.on('error', () => undefined);
    this.#keys = keysFor(options.prefix ?? DEFAULT_PREFIX);
    this.#queue = new Queue(this.#keys.queue, { connection: this.#redis, prefix: this.#keys.prefix });
    this.#queue.on('error', () => undefined); // surfaced by the calls that fail
    const retentionSeconds = this.#options.jobs?.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    this.#store = new DownloadStateStore(this.#redis, this.#keys, retentionSeconds);
    this.#mirrors = new MirrorClient(this.#queue, new MirrorStore(this.#redis, this.#keys, retentionSeconds), this.#store, {
      vcenters: options.vcenters,
      attempts: 3,
      backoffMs: options.jobs?.backoffMs ?? 5_000,
      retentionSeconds,
    });
    // Events come from a QueueEvents connection, opened when the first listener arrives.
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event !== 'newListener' && event !== 'removeListener') void this.#queueEvents().catch(() => undefined);
    });
  }

  /**
   * Validates `request` and queues it; returns the download id. Idempotent: the same `id` yields
   * one download (asking again with a different request under that id is an error).
   */
  async enqueueDownload(request: unknown, options: { id?: string } = {}): Promise<string> {
    const parsed = parseDownloadRequest(request, { vcenters: this.#options.vcenters });
    const id = options.id === undefined ? randomUUID() : parseDownloadId(options.id);
    if (!(await this.#store.create(id, parsed))) {
      const existing = await this.#store.get(id);
      if (existing && !isDeepStrictEqual(existing.request, parsed)) {
        throw new InvalidRequestError('id', `${id} is already used by a different download`);
      }
      // The state exists; make sure its job does too (a producer may have died between the two).
      if (existing && TERMINAL_STATES.has(existing.state)) return id;
    }
    const jobs = this.#options.jobs ?? {};
    const policy = { attempts: jobs.attempts ?? 5, backoffMs: jobs.backoffMs ?? 5_000, retentionSeconds: jobs.retentionSeconds ?? DEFAULT_RETENTION_SECONDS };
    await this.#queue.add('download', { request: parsed }, { jobId: id, ...jobOptions(policy) });
    return id;
  }

  /**
   * Cancels a download wherever it is. The flag is persistent and every worker hears the notice;
   * a job still waiting is taken off the queue at once (the workers' orphan sweeper cancels a
   * session it may hold from an earlier attempt).
   */
  async cancelDownload(id: string): Promise<CancelOutcome> {
    const status = await this.#store.get(id);
    if (!status) return 'unknown';
    if (TERMINAL_STATES.has(status.state)) return 'finished';
    await this.#store.requestCancel(id);
    await CancelChannel.publish(this.#redis, this.#keys.cancelChannel, id);
    const job = await this.#queue.getJob(id);
    const state = await job?.getState();
    const waiting = state === 'waiting' || state === 'delayed' || state === 'prioritized';
    if (job && waiting && (status.attempt > 0 || status.sessionId)) {
      // An earlier attempt left a session and parts: a worker ends the one and removes the others
      // (it sees the flag first thing). A job waiting out its backoff is taken now, not then.
      if (state === 'delayed') await job.promote().catch(() => undefined);
      return 'canceling';
    }
    if (job && waiting) {
      try {
        await job.remove();
        await this.#store.finish(id, 'canceled', { lastError: 'canceled before a worker took it' });
        this.emit('canceled', id, 'canceled before a worker took it');
        return 'removed';
      } catch {
        // A worker took it in the meantime: it sees the flag.
      }
    }
    if (!job) {
      await this.#store.finish(id, 'canceled', { lastError: 'canceled; no job was queued' });
      return 'removed';
    }
    return 'canceling';
  }

  /** The download's record, without the vCenter client token (see `withoutClientToken`). */
  async getDownload(id: string): Promise<PublicDownloadStatus | undefined> {
    const status = await this.#store.get(id);
    return status && withoutClientToken(status);
  }

  async listDownloads(options: { state?: DownloadState; limit?: number } = {}): Promise<PublicDownloadStatus[]> {
    return (await this.#store.list(options)).map(withoutClientToken);
  }

  /**
   * Resolves with the result when the download completes; rejects with DownloadFailedError when
   * it fails or is canceled, or when `timeoutMs` passes. Retries in between are waited out.
   */
  async waitForDownload(id: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<DownloadResult> {
    const events = await this.#queueEvents();
    return new Promise<DownloadResult>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        events.off('completed', onEvent);
        events.off('failed', onEvent);
        clearInterval(poll);
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const check = async () => {
        const status = await this.#store.get(id);
        if (!status) return finish(() => reject(new InvalidRequestError('id', `no download ${id}`)));
        if (status.state === 'completed' && status.result) return finish(() => resolve(status.result!));
        if (status.state === 'failed' || status.state === 'canceled') {
          return finish(() => reject(new DownloadFailedError(id, status.state as 'failed' | 'canceled', status.lastError ?? 'no reason recorded')));
        }
      };
      const onEvent = ({ jobId }: { jobId: string }) => {
        if (jobId === id) void check().catch((err: Error) => finish(() => reject(err)));
      };
      const onAbort = () => finish(() => reject(options.signal!.reason as Error));
      events.on('completed', onEvent);
      events.on('failed', onEvent);
      // Events can be missed across a reconnect; the state in Redis cannot.
      const poll = setInterval(() => void check().catch(() => undefined), 5_000);
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => finish(() => reject(new Error(`download ${id} did not finish within ${options.timeoutMs} ms`))), options.timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      void check().catch((err: Error) => finish(() => reject(err)));
    });
  }

  /**
   * Queues a run that mirrors a library into `destination` (each item in a directory of its own,
   * only what changed since the last run); returns the run's id. A run of the same library into
   * the same destination that has not finished is joined; one of another library is refused.
   */
  async mirrorLibrary(request: unknown): Promise<string> {
    return (await this.#mirrors.mirror(request)).id;
  }

  getMirror(id: string): Promise<MirrorStatus | undefined> {
    return this.#mirrors.get(id);
  }

  listMirrors(options: { limit?: number } = {}): Promise<MirrorStatus[]> {
    return this.#mirrors.list(options.limit);
  }

  /** Resolves with the run's final record (completed, or failed with the items' reasons). */
  waitForMirror(id: string, options: { timeoutMs?: number; signal?: AbortSignal; onProgress?: (status: MirrorStatus) => void } = {}): Promise<MirrorStatus> {
    return this.#mirrors.wait(id, options);
  }

  async close(): Promise<void> {
    const events = await this.#events?.catch(() => undefined);
    await events?.close();
    // BullMQ leaves a connection it was given open: this one is ours to close.
    this.#eventsConnection?.disconnect();
    await this.#queue.close();
    if (this.#ownsRedis) await this.#redis.quit().catch(() => undefined);
  }

  #queueEvents(): Promise<QueueEvents> {
    this.#events ??= (async () => {
      const connection = this.#redis.duplicate();
      connection.on('error', () => undefined);
      this.#eventsConnection = connection;
      const events = new QueueEvents(this.#keys.queue, { connection, prefix: this.#keys.prefix });
      events.on('error', () => undefined);
      events.on('progress', ({ jobId, data }) => this.emit('progress', jobId, data as DownloadProgress));
      events.on('completed', ({ jobId, returnvalue }) => {
        this.#mirrors.isMirror(jobId).then(
          (mirror) => {
            if (mirror) this.emit('mirror-completed', jobId, returnvalue as MirrorResult);
            else this.emit('completed', jobId, returnvalue as DownloadResult);
          },
          () => undefined,
        );
      });
      events.on('failed', ({ jobId, failedReason }) => {
        // A failure BullMQ will retry is not an outcome; the state says what this one is. When the
        // state cannot be read (the client closing, a corrupt record) nothing is emitted rather
        // than a guess, as for an event missed across a reconnect: waitForDownload polls the state.
        // Never a rejection: this runs inside other people's processes, where one ends them.
        Promise.all([this.#store.get(jobId), this.#mirrors.get(jobId)]).then(
          ([s, m]) => {
            if (s?.state === 'canceled') this.emit('canceled', jobId, s.lastError ?? failedReason);
            else if (s?.state === 'failed') this.emit('failed', jobId, s.lastError ?? failedReason);
            else if (m?.state === 'failed') this.emit('mirror-failed', jobId, m.lastError ?? failedReason);
          },
          () => undefined,
        );
      });
      await events.waitUntilReady();
      return events;
    })();
    return this.#events;
  }
}
