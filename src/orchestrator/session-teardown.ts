import type { Logger } from 'pino';
import { isVapiError, type VCenterClient } from '../vsphere/index.ts';
import type { DownloadStateStore } from './state.ts';

/**
 * The one place a download session is ended on vCenter and dropped from cldl's session index
 * (`{cldl}:sessions`, what the orphan sweeper walks). Used by a job's lease, the processor's
 * outcomes and the orphan sweeper alike. (A completed download's session, deleted here, leaves the
 * index with the outcome's write: `DownloadStateStore.finish`.)
 *
 * "Quietly" means a session that has already left ACTIVE or vanished is not an error: the goal
 * (the session no longer runs) is met. Other failures are logged, never thrown, except by
 * `delete` and `deleteAndForget`, whose callers decide (a session that could not be deleted stays
 * in the index, so the sweeper tries again).
 */
export class SessionTeardown {
  readonly #vc: VCenterClient;
  readonly #store: DownloadStateStore;
  readonly #log: Logger;

  constructor(vc: VCenterClient, store: DownloadStateStore, log: Logger) {
    this.#vc = vc;
    this.#store = store;
    this.#log = log;
  }

  get vcenter(): string {
    return this.#vc.name;
  }

  /** cancel() on vCenter, unless the session already ended or is gone. */
  async cancelQuietly(sessionId: string): Promise<void> {
    await this.#vc.sessions.cancel(sessionId).catch((err: unknown) => {
      if (!isVapiError(err, 'not_allowed_in_current_state') && !isVapiError(err, 'not_found')) {
        this.#log.warn({ err, sessionId }, 'could not cancel the download session');
      }
    });
  }

  /** fail(message) on vCenter, so an admin sees why; a failure to do so is only logged. */
  async failQuietly(sessionId: string, message: string): Promise<void> {
    await this.#vc.sessions.fail(sessionId, message).catch((err: unknown) => {
      this.#log.warn({ err, sessionId }, 'could not fail the download session');
    });
  }

  /** delete() on vCenter (a session already gone counts as deleted), then forget it. Throws otherwise. */
  async deleteAndForget(sessionId: string): Promise<void> {
    await this.delete(sessionId);
    await this.forget(sessionId);
  }

  /**
   * delete() on vCenter (a session already gone counts as deleted); throws otherwise. The caller
   * forgets it: a download that completed drops it from the index with its outcome's write.
   */
  async delete(sessionId: string): Promise<void> {
    await this.#vc.sessions.delete(sessionId).catch((err: unknown) => {
      if (!isVapiError(err, 'not_found')) throw err;
    });
  }

  /** Drops the session from cldl's index: nobody needs to clean it up any more. */
  forget(sessionId: string): Promise<void> {
    return this.#store.forgetSession(this.#vc.name, sessionId);
  }
}
