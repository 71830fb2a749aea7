import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { keysFor } from './keys.ts';
import { OrphanSweeper } from './orphan-sweeper.ts';
import { DownloadStateStore } from './state.ts';
import type { VCenterRegistry } from './vcenter-registry.ts';

export interface SessionAdminDeps {
  redis: Redis | Cluster;
  prefix: string;
  vcenters: VCenterRegistry;
  logger: Logger;
}

/**
 * What an operator asks about download sessions outside a worker (`cldl sessions`): which
 * sessions are cldl's and which download owns each, and a sweep of the orphaned ones.
 */
export class SessionAdmin {
  readonly #store: DownloadStateStore;
  readonly #queue: Queue;
  readonly #sweeper: OrphanSweeper;

  constructor(deps: SessionAdminDeps) {
    const keys = keysFor(deps.prefix);
    this.#store = new DownloadStateStore(deps.redis, keys, 1);
    this.#queue = new Queue(keys.queue, { connection: deps.redis, prefix: deps.prefix });
    this.#queue.on('error', () => undefined);
    this.#sweeper = new OrphanSweeper({ store: this.#store, queue: this.#queue, vcenters: deps.vcenters, logger: deps.logger });
  }

  /** `vcenter/sessionId` -> download id, for every session cldl recorded as its own. */
  async owners(): Promise<Map<string, string>> {
    return new Map((await this.#store.ownedSessions()).map((s) => [`${s.vcenter}/${s.sessionId}`, s.downloadId]));
  }

  /** Cancels and deletes cldl's sessions that no live job owns; returns how many. */
  sweep(): Promise<number> {
    return this.#sweeper.sweep();
  }

  async close(): Promise<void> {
    this.#sweeper.close();
    await this.#queue.close();
  }
}
