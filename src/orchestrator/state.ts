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

/** Fields for a download's record: undefined removes a field. */
export type RecordFields = Partial<Record<string, string | number | undefined>>;

/** A download's current session in cldl's session index: recorded, or dropped. */
export type SessionIndexChange = { vcenter: string; sessionId: string; op: 'attach' | 'forget' };

const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'state', 'queued', 'request', ARGV[2], 'createdAt', ARGV[3], 'updatedAt', ARGV[3], 'attempt', 0, 'sessionGeneration', 0)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1`;

// One write to a download's record, atomic: HSET, then HDEL, then the session index (set to the
// download, or dropped), then EXPIRE; it answers with the cancel flag. One script instead of a MULTI
// of several commands: ioredis also builds each pipeline by copying every BullMQ script defined on
// the connection onto it (2% of a small job's worker CPU in a profile, job-anatomy --profile).
// KEYS: the record, the session index. ARGV: n, n field/value pairs, m, m fields to remove, the
// index field ('' for none), the download id for it ('' to drop it), the seconds to expire in ('').
const WRITE_SCRIPT = `
local n = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + 2 * n))
local i = 2 + 2 * n
local m = tonumber(ARGV[i])
if m > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, i + 1, i + m)) end
i = i + m + 1
if ARGV[i] ~= '' then
  if ARGV[i + 1] ~= '' then redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) else redis.call('HDEL', KEYS[2], ARGV[i]) end
end
if ARGV[i + 2] ~= '' then redis.call('EXPIRE', KEYS[1], ARGV[i + 2]) end
return redis.call('HGET', KEYS[1], 'cancelRequested')`;

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

  /** Sets the defined fields and removes the undefined ones, atomically. */
  async update(id: string, fields: RecordFields): Promise<void> {
    await this.#write(id, fields, {});
  }

  async setState(id: string, state: DownloadState, fields: RecordFields = {}): Promise<void> {
    await this.update(id, { ...fields, state });
  }

  /**
   * Sets the defined fields and removes the undefined ones, and records or drops a session in the
   * session index, in one atomic write that reads back the cancel flag.
   */
  async write(id: string, fields: RecordFields, index?: SessionIndexChange): Promise<{ cancelRequested: boolean }> {
    return this.#write(id, fields, { index, readCancel: true });
  }

  /** Writes progress (with any other `fields`), and reads back the cancel flag in the same round trip. */
  async saveProgress(id: string, progress: DownloadProgress, files: FileProgress[], fields: RecordFields = {}): Promise<{ cancelRequested: boolean }> {
    return this.write(id, { ...fields, ...progressFields(progress, files) });
  }

  /**
   * Ends a download: completed, failed or canceled. From now on it expires after the retention.
   * `index`: the session it ended with, to drop from the session index in the same write.
   */
  async finish(id: string, state: 'completed' | 'failed' | 'canceled', fields: RecordFields = {}, index?: SessionIndexChange): Promise<void> {
    await this.#write(id, { ...fields, state, finishedAt: new Date().toISOString() }, { index, expireSeconds: this.#retentionSeconds });
  }

  /**
   * A lone HSET when that is all there is to do; WRITE_SCRIPT otherwise. A small job writes its
   * record several times: each MULTI would cost it more than a script.
   */
  async #write(
    id: string,
    fields: RecordFields,
    o: { index?: SessionIndexChange | undefined; expireSeconds?: number; readCancel?: boolean },
  ): Promise<{ cancelRequested: boolean }> {
    const key = this.#keys.download(id);
    const set: Fields = { updatedAt: new Date().toISOString() };
    const del: string[] = [];
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) del.push(k);
      else set[k] = v;
    }
    if (del.length === 0 && o.index === undefined && o.expireSeconds === undefined && !o.readCancel) {
      await this.#redis.hset(key, set);
      return { cancelRequested: false };
    }
    const pairs = Object.entries(set).flatMap(([k, v]) => [k, String(v)]);
    const flag = await this.#redis.eval(
      WRITE_SCRIPT,
      2,
      key,
      this.#keys.sessions,
      pairs.length / 2,
      ...pairs,
      del.length,
      ...del,
      o.index ? sessionKey(o.index.vcenter, o.index.sessionId) : '',
      o.index?.op === 'attach' ? id : '',
      o.expireSeconds === undefined ? '' : String(o.expireSeconds),
    );
    return { cancelRequested: flag === '1' };
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
   * ownership index, in one write (with any other `fields`): the orphan sweeper must never see one
   * without the other.
   */
  async attachSession(id: string, vcenter: string, sessionId: string, fields: RecordFields = {}): Promise<{ cancelRequested: boolean }> {
    return this.write(id, { ...fields, sessionId }, { vcenter, sessionId, op: 'attach' });
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

/** A progress snapshot as the record's fields. */
export function progressFields(progress: DownloadProgress, files: FileProgress[]): Fields {
  return {
    bytesDone: progress.bytesDone,
    bytesTotal: progress.bytesTotal,
    percent: progress.percent,
    filesDone: progress.filesDone,
    filesTotal: progress.filesTotal,
    bytesPerSecond: progress.bytesPerSecond,
    files: JSON.stringify(files),
  };
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
