import type { Worker } from 'bullmq';
import { LockLostError } from './errors.ts';

/** What the watchdog aborts: the jobs running in this process. */
export interface AbortableJob {
  abort(error: Error): void;
}

/**
 * Stops a job before another worker can take it over. BullMQ renews each job's lock every
 * lockDuration/2 and only emits an event when that fails: the job goes on. A worker cut off from
 * Redis could then keep writing a `.part` that a new owner is writing too. So each job whose lock
 * was not renewed for 90% of lockDuration is aborted here, before the lock can expire and the
 * stalled check can hand the job to another worker.
 */
export class LockWatchdog {
  readonly #renewed = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(worker: Worker, running: ReadonlyMap<string, AbortableJob>, lockDurationMs: number) {
    worker.on('active', (job) => job.id && this.#renewed.set(job.id, Date.now()));
    worker.on('locksRenewed', ({ jobIds }) => {
      const now = Date.now();
      for (const id of jobIds) this.#renewed.set(id, now);
    });
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) running.get(id)?.abort(new LockLostError(id));
    });
    const limit = lockDurationMs * 0.9;
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const id of this.#renewed.keys()) if (!running.has(id)) this.#renewed.delete(id);
      for (const [id, job] of running) {
        const last = this.#renewed.get(id) ?? now;
        if (!this.#renewed.has(id)) this.#renewed.set(id, now);
        if (now - last > limit) job.abort(new LockLostError(id));
      }
    }, Math.max(100, Math.floor(lockDurationMs / 10)));
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
