import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { SessionTeardown } from './session-teardown.ts';
import type { DownloadStateStore } from './state.ts';
import type { VCenterRegistry } from './vcenter-registry.ts';

const LIVE_JOB_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Cancels and deletes the download sessions cldl created but no live job owns any more: a worker
 * died and its job ended elsewhere, a delete failed, a queued job holding a session was removed.
 * Only sessions in cldl's own index are considered: sessions that are not ours are never touched.
 */
export interface OrphanSweeperDeps {
  store: DownloadStateStore;
  queue: Queue;
  vcenters: VCenterRegistry;
  logger: Logger;
}

export class OrphanSweeper {
  readonly #deps: OrphanSweeperDeps;
  readonly #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #queued: Promise<number> | undefined;

  /** Sweeps every `intervalMs`; without one, only when asked. */
  constructor(deps: OrphanSweeperDeps, intervalMs?: number) {
    this.#deps = deps;
    if (intervalMs) {
      // A sweep that fails (Redis away) is tried at the next interval; it must not reject unhandled.
      this.#timer = setInterval(() => void this.sweep().catch((err: unknown) => deps.logger.warn({ err }, 'orphan sweep failed')), intervalMs);
      this.#timer.unref();
    }
  }

  /**
   * A sweep that reads the index after this call; returns how many sessions it cleaned up. A sweep
   * under way may have read the index before the caller's change, so a call during one waits for
   * it and runs another; calls that arrive meanwhile share that next one.
   */
  sweep(): Promise<number> {
    if (!this.#running) return this.#start();
    this.#queued ??= this.#running
      .catch(() => 0)
      .then(() => {
        this.#queued = undefined;
        return this.#start();
      });
    return this.#queued;
  }

  #start(): Promise<number> {
    this.#running = this.#sweep().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #sweep(): Promise<number> {
    const { store, vcenters, logger } = this.#deps;
    let cleaned = 0;
    for (const { vcenter, sessionId, downloadId } of await store.ownedSessions()) {
      try {
        if (await this.#owned(downloadId, sessionId)) continue;
        const vc = vcenters.get(vcenter);
        if (!vc) continue; // a vCenter no longer configured here: another worker may know it
        const teardown = new SessionTeardown(vc, store, logger);
        await teardown.cancelQuietly(sessionId);
        await teardown.deleteAndForget(sessionId);
        cleaned++;
        logger.info({ vcenter, sessionId, downloadId }, 'canceled and deleted an orphaned download session');
      } catch (err) {
        logger.warn({ err, vcenter, sessionId, downloadId }, 'could not clean up an orphaned download session');
      }
    }
    return cleaned;
  }

  /** A session is owned while its download's job is live and the download still uses it. */
  async #owned(downloadId: string, sessionId: string): Promise<boolean> {
    const status = await this.#deps.store.get(downloadId);
    if (!status || status.sessionId !== sessionId) return false;
    const job = await this.#deps.queue.getJob(downloadId);
    if (!job) return false;
    return LIVE_JOB_STATES.has(await job.getState());
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
