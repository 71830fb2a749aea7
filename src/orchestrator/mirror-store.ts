import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import type { MirrorRequest } from './mirror-request.ts';

export const MIRROR_STATES = ['queued', 'planning', 'downloading', 'swapping', 'completed', 'failed'] as const;
export type MirrorState = (typeof MIRROR_STATES)[number];
const TERMINAL: ReadonlySet<MirrorState> = new Set(['completed', 'failed']);

/** One item of a run: what the run does with it, and how that went. */
export interface MirrorItem {
  id: string;
  name: string;
  /** Its directory under the destination. */
  dir: string;
  contentVersion?: string | undefined;
  /** `current`: unchanged, skipped; `download`: fetched and swapped in; `prune`: removed. */
  action: 'current' | 'download' | 'prune';
  downloadId?: string | undefined;
  outcome?: 'done' | 'failed' | undefined;
  reason?: string | undefined;
}

/** A mirror run as Redis records it: what `getMirror` returns and `cldl mirror --wait` shows. */
export interface MirrorStatus {
  id: string;
  state: MirrorState;
  request: MirrorRequest;
  /** The library's id, once found. */
  libraryId?: string | undefined;
  items: MirrorItem[];
  createdAt: string;
  updatedAt: string;
  finishedAt?: string | undefined;
  lastError?: string | undefined;
  /** Bytes of this run's downloads, summed from their records (filled by the reader). */
  progress: { itemsTotal: number; itemsCurrent: number; itemsDone: number; itemsFailed: number; bytesDone: number; bytesTotal: number };
}

// Takes the destination for `id`, unless a run that has not finished holds it; returns the holder.
const TAKE_DESTINATION = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  local state = redis.call('HGET', KEYS[2] .. holder, 'state')
  if state and state ~= 'completed' and state ~= 'failed' then return holder end
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`;

const RELEASE_DESTINATION = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Mirror runs in Redis: one hash per run, a sorted set to list them, and one key per destination
 * naming the run writing it, so that two runs never write one tree.
 */
export class MirrorStore {
  readonly #redis: Redis | Cluster;
  readonly #keys: Keys;
  readonly #retentionSeconds: number;

  constructor(redis: Redis | Cluster, keys: Keys, retentionSeconds: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#retentionSeconds = retentionSeconds;
  }

  /**
   * Records run `id` and takes its destination. When another unfinished run holds the destination,
   * nothing is recorded and that run's id is returned instead.
   */
  async begin(id: string, request: MirrorRequest): Promise<{ holder: string; holderRequest?: MirrorRequest | undefined }> {
    const holder = (await this.#redis.eval(TAKE_DESTINATION, 2, this.#destinationKey(request), this.#keys.mirror(''), id)) as string;
    if (holder !== id) return { holder, holderRequest: (await this.get(holder))?.request };
    const now = new Date();
    const key = this.#keys.mirror(id);
    if (!(await this.#redis.exists(key))) {
      await this.#redis
        .multi()
        .hset(key, { id, state: 'queued', request: JSON.stringify(request), items: '[]', createdAt: now.toISOString(), updatedAt: now.toISOString() })
        .zadd(this.#keys.mirrors, now.getTime(), id)
        .exec();
    }
    return { holder: id };
  }

  async get(id: string): Promise<MirrorStatus | undefined> {
    const h = await this.#redis.hgetall(this.#keys.mirror(id));
    return h.state ? decode(h) : undefined;
  }

  async update(id: string, fields: { state?: MirrorState; libraryId?: string; items?: MirrorItem[]; lastError?: string | undefined }): Promise<void> {
    const set: Record<string, string> = { updatedAt: new Date().toISOString() };
    if (fields.state) set.state = fields.state;
    if (fields.libraryId) set.libraryId = fields.libraryId;
    if (fields.items) set.items = JSON.stringify(fields.items);
    if (fields.lastError !== undefined) set.lastError = fields.lastError;
    await this.#redis.hset(this.#keys.mirror(id), set);
  }

  /** Ends run `id`: its destination is free again, and its record expires after the retention. */
  async finish(id: string, request: MirrorRequest, state: 'completed' | 'failed', items: MirrorItem[], lastError?: string): Promise<void> {
    const key = this.#keys.mirror(id);
    const fields: Record<string, string> = { state, items: JSON.stringify(items), updatedAt: new Date().toISOString(), finishedAt: new Date().toISOString() };
    if (lastError !== undefined) fields.lastError = lastError;
    await this.#redis.multi().hset(key, fields).expire(key, this.#retentionSeconds).exec();
    await this.#redis.eval(RELEASE_DESTINATION, 1, this.#destinationKey(request), id);
  }

  /** The newest runs first. */
  async list(limit = 100): Promise<MirrorStatus[]> {
    const ids = await this.#redis.zrevrange(this.#keys.mirrors, 0, limit - 1);
    const out: MirrorStatus[] = [];
    const gone: string[] = [];
    for (const id of ids) {
      const status = await this.get(id);
      if (status) out.push(status);
      else gone.push(id);
    }
    if (gone.length) await this.#redis.zrem(this.#keys.mirrors, ...gone);
    return out;
  }

  isTerminal(state: MirrorState): boolean {
    return TERMINAL.has(state);
  }

  #destinationKey(request: MirrorRequest): string {
    // Per destination, whatever the vCenter or library: the tree is what must not have two writers.
    return this.#keys.mirrorDestination(createHash('sha256').update(request.destination).digest('hex'));
  }
}

function decode(h: Record<string, string>): MirrorStatus {
  const items = JSON.parse(h.items ?? '[]') as MirrorItem[];
  return {
    id: h.id!,
    state: h.state as MirrorState,
    request: JSON.parse(h.request ?? '{}') as MirrorRequest,
    libraryId: h.libraryId,
    items,
    createdAt: h.createdAt ?? '',
    updatedAt: h.updatedAt ?? '',
    finishedAt: h.finishedAt,
    lastError: h.lastError,
    progress: {
      itemsTotal: items.filter((i) => i.action !== 'prune').length,
      itemsCurrent: items.filter((i) => i.action === 'current').length,
      itemsDone: items.filter((i) => i.outcome === 'done').length,
      itemsFailed: items.filter((i) => i.outcome === 'failed').length,
      bytesDone: 0,
      bytesTotal: 0,
    },
  };
}
