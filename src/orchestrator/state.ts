import type { Cluster, Redis } from 'ioredis';
import type { VerifiedFile } from '../transfer/index.ts';
import type { DownloadRequest } from './download-request.ts';
import type { Keys } from './keys.ts';

/** Every state a download can be in, in the order a download moves through them. */
export const DOWNLOAD_STATES = ['queued', 'syncing', 'creating', 'preparing', 'transferring', 'verifying', 'completed', 'failed', 'canceled'] as const;

export type DownloadState = (typeof DOWNLOAD_STATES)[number];

export function isDownloadState(value: string): value is DownloadState {
  return (DOWNLOAD_STATES as readonly string[]).includes(value);
}

export const TERMINAL_STATES: ReadonlySet<DownloadState> = new Set(['completed', 'failed', 'canceled']);

export interface FileProgress {
  name: string;
  size?: number | undefined;
  bytes: number;
  status: 'pending' | 'transferring' | 'verifying' | 'done';
}

export interface DownloadProgress {
  bytesDone: number;
  bytesTotal: number;
  percent: number;
  filesDone: number;
  filesTotal: number;
  bytesPerSecond: number;
}

/** A file of a download, verified: what the result lists. */
export type FileResult = VerifiedFile;

export interface DownloadResult {
  sessionId: string;
  files: FileResult[];
  totalBytes: number;
  durationMs: number;
}

/** A download as Redis records it: what `getDownload` returns and `cldl status` prints. */
export interface DownloadStatus {
  id: string;
  state: DownloadState;
  request: DownloadRequest;
  sessionId?: string | undefined;
  clientToken?: string | undefined;
  /** How many sessions this download has created (a fresh one after an expiry bumps it). */
  sessionGeneration: number;
  /** The item's content version the bytes on disk belong to (from the session that served them). */
  contentVersion?: string | undefined;
  attempt: number;
  worker?: string | undefined;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string | undefined;
  progress: DownloadProgress;
  files: FileProgress[];
  /** Every file an attempt planned to write: where its parts may be. */
  plannedFiles: string[];
  lastError?: string | undefined;
  /** Files verified so far, so that a resumed attempt can report files an earlier one committed. */
  verified?: FileResult[] | undefined;
  result?: DownloadResult | undefined;
  cancelRequested: boolean;
}

type Fields = Record<string, string | number>;

const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'state', 'queued', 'request', ARGV[2], 'createdAt', ARGV[3], 'updatedAt', ARGV[3], 'attempt', 0, 'sessionGeneration', 0)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1`;

/**
 * One Redis hash per download: the state any worker needs to resume it and any client reads to
 * follow it. Terminal downloads expire after the retention; live ones never do.
 */
export class DownloadStateStore {
  readonly #redis: Redis | Cluster;
  readonly #keys: Keys;
  readonly #retentionSeconds: number;

  constructor(redis: Redis | Cluster, keys: Keys, retentionSeconds: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#retentionSeconds = retentionSeconds;
  }

  /**
   * Records a new download as queued; false (and no change) if the id exists already. One script,
   * so a concurrent enqueue of the same id never sees a half-written record.
   */
  async create(id: string, request: DownloadRequest): Promise<boolean> {
    const now = new Date();
    const created = await this.#redis.eval(
      CREATE_SCRIPT,
      2,
      this.#keys.download(id),
      this.#keys.downloads,
      id,
      JSON.stringify(request),
      now.toISOString(),
      now.getTime(),
    );
    return created === 1;
  }

  async get(id: string): Promise<DownloadStatus | undefined> {
    const h = await this.#redis.hgetall(this.#keys.download(id));
    return h.state ? decode(h) : undefined;
  }

  async update(id: string, fields: Partial<Record<string, string | number | undefined>>): Promise<void> {
    await this.#write(id, fields);
  }

  async setState(id: string, state: DownloadState, fields: Partial<Record<string, string | number | undefined>> = {}): Promise<void> {
    await this.update(id, { ...fields, state });
  }

  /** Writes progress, and reads back the cancel flag in the same round trip. */
  async saveProgress(id: string, progress: DownloadProgress, files: FileProgress[]): Promise<{ cancelRequested: boolean }> {
    const key = this.#keys.download(id);
    const results = await this.#redis
      .multi()
      .hset(key, {
        bytesDone: progress.bytesDone,
        bytesTotal: progress.bytesTotal,
        percent: progress.percent,
        filesDone: progress.filesDone,
        filesTotal: progress.filesTotal,
        bytesPerSecond: progress.bytesPerSecond,
        files: JSON.stringify(files),
        updatedAt: new Date().toISOString(),
      })
      .hget(key, 'cancelRequested')
      .exec();
    return { cancelRequested: results?.[1]?.[1] === '1' };
  }

  /** Ends a download: completed, failed or canceled. From now on it expires after the retention. */
  async finish(id: string, state: 'completed' | 'failed' | 'canceled', fields: Partial<Record<string, string | number | undefined>> = {}): Promise<void> {
    await this.#write(id, { ...fields, state, finishedAt: new Date().toISOString() }, this.#retentionSeconds);
  }

  /**
   * Sets the defined fields and removes the undefined ones, atomically. A lone HSET when nothing
   * is removed or expires: a MULTI costs a round trip's worth of client CPU more (ioredis copies
   * every BullMQ script onto each pipeline), and a small job writes its record a dozen times.
   */
  async #write(id: string, fields: Partial<Record<string, string | number | undefined>>, expireSeconds?: number): Promise<void> {
    const key = this.#keys.download(id);
    const set: Fields = { updatedAt: new Date().toISOString() };
    const del: string[] = [];
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) del.push(k);
      else set[k] = v;
    }
    if (del.length === 0 && expireSeconds === undefined) {
      await this.#redis.hset(key, set);
      return;
    }
    const multi = this.#redis.multi().hset(key, set);
    if (del.length) multi.hdel(key, ...del);
    if (expireSeconds !== undefined) multi.expire(key, expireSeconds);
    await multi.exec();
  }

  /** Sets the persistent cancel flag; undefined when there is no such download. */
  async requestCancel(id: string): Promise<DownloadStatus | undefined> {
    const key = this.#keys.download(id);
    if (!(await this.#redis.exists(key))) return undefined;
    await this.#redis.hset(key, { cancelRequested: '1', updatedAt: new Date().toISOString() });
    return this.get(id);
  }

  /**
   * Records `sessionId` on `vcenter` as this download's current session and as cldl's in the
   * ownership index, in one MULTI: the orphan sweeper must never see one without the other.
   */
  async attachSession(id: string, vcenter: string, sessionId: string): Promise<void> {
    await this.#redis
      .multi()
      .hset(this.#keys.download(id), { sessionId, updatedAt: new Date().toISOString() })
      .hset(this.#keys.sessions, sessionKey(vcenter, sessionId), id)
      .exec();
  }

  async forgetSession(vcenter: string, sessionId: string): Promise<void> {
    await this.#redis.hdel(this.#keys.sessions, sessionKey(vcenter, sessionId));
  }

  async ownedSessions(): Promise<Array<{ vcenter: string; sessionId: string; downloadId: string }>> {
    const all = await this.#redis.hgetall(this.#keys.sessions);
    return Object.entries(all).map(([k, downloadId]) => {
      const i = k.indexOf('/');
      return { vcenter: k.slice(0, i), sessionId: k.slice(i + 1), downloadId };
    });
  }

  /** The newest downloads first, optionally in one state; ids whose record expired are pruned. */
  async list(options: { state?: DownloadState | undefined; limit?: number | undefined } = {}): Promise<DownloadStatus[]> {
    const limit = options.limit ?? 100;
    const out: DownloadStatus[] = [];
    const batch = 200;
    for (let start = 0; out.length < limit; start += batch) {
      const ids = await this.#redis.zrevrange(this.#keys.downloads, start, start + batch - 1);
      if (ids.length === 0) break;
      const pipeline = this.#redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.#keys.download(id));
      const rows = (await pipeline.exec()) ?? [];
      const expired: string[] = [];
      rows.forEach(([, h], i) => {
        const fields = h as Record<string, string>;
        if (!fields.state) return void expired.push(ids[i]!);
        const status = decode(fields);
        if (!options.state || status.state === options.state) out.push(status);
      });
      if (expired.length) await this.#redis.zrem(this.#keys.downloads, ...expired);
    }
    return out.slice(0, limit);
  }
}

function sessionKey(vcenter: string, sessionId: string): string {
  return `${vcenter}/${sessionId}`;
}

function decode(h: Record<string, string>): DownloadStatus {
  const num = (k: string) => Number(h[k] ?? 0);
  return {
    id: h.id!,
    state: h.state as DownloadState,
    request: JSON.parse(h.request ?? '{}') as DownloadRequest,
    sessionId: h.sessionId,
    clientToken: h.clientToken,
    sessionGeneration: num('sessionGeneration'),
    contentVersion: h.contentVersion,
    attempt: num('attempt'),
    worker: h.worker,
    createdAt: h.createdAt ?? h.updatedAt ?? '',
    updatedAt: h.updatedAt ?? h.createdAt!,
    finishedAt: h.finishedAt,
    progress: {
      bytesDone: num('bytesDone'),
      bytesTotal: num('bytesTotal'),
      percent: num('percent'),
      filesDone: num('filesDone'),
      filesTotal: num('filesTotal'),
      bytesPerSecond: num('bytesPerSecond'),
    },
    files: h.files ? (JSON.parse(h.files) as FileProgress[]) : [],
    plannedFiles: h.plannedFiles ? (JSON.parse(h.plannedFiles) as string[]) : [],
    lastError: h.lastError,
    verified: h.verified ? (JSON.parse(h.verified) as FileResult[]) : undefined,
    result: h.result ? (JSON.parse(h.result) as DownloadResult) : undefined,
    cancelRequested: h.cancelRequested === '1',
  };
}
