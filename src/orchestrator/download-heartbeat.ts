// A download's session must stay alive however long its files take, and its progress must reach
// vCenter, BullMQ and Redis: this is what the one heartbeat (`keep-alive.ts`) holds of a download.
import type { Logger } from 'pino';
import type { DestinationHold } from './destination-hold.ts';
import type { SessionLostError } from './errors.ts';
import type { HeartbeatTarget, KeepAlive } from './keep-alive.ts';
import type { ProgressReporter } from './progress-reporter.ts';
import type { ProgressTracker } from './progress-tracker.ts';
import type { SessionLease } from './session-lease.ts';

export interface DownloadHeartbeatDeps {
  /** The download id. */
  key: string;
  keepAlive: KeepAlive;
  lease: SessionLease;
  tracker: ProgressTracker;
  reporter: ProgressReporter;
  /** Refreshed with every report. */
  hold: DestinationHold;
  /** The job's logger as it is now. */
  log(): Logger;
}

/**
 * When a download's session gets its first keep-alive. The session was just created (or just read
 * and found ACTIVE, its expiry known: then no later than a third of the time it has left), so a
 * download that ends sooner never beats: a small one is spared a keep_alive and a get.
 */
const FIRST_BEAT_MS = 1_000;

/**
 * One attempt as the heartbeat sees it: its lease's session, its percent, its progress reports
 * (which also keep its destination held), and where a lost session is told.
 */
export class DownloadHeartbeat implements HeartbeatTarget {
  readonly key: string;
  readonly session: SessionLease;
  readonly #deps: DownloadHeartbeatDeps;

  constructor(deps: DownloadHeartbeatDeps) {
    this.key = deps.key;
    this.session = deps.lease;
    this.#deps = deps;
  }

  /** Starts beating for the lease's first session; returns the function that stops it. */
  start(): () => void {
    const { keepAlive, lease } = this.#deps;
    return keepAlive.track(this, { progress: lease.initialProgress, firstBeatInMs: FIRST_BEAT_MS, expiresAt: lease.expiresAt });
  }

  /** Beats for the lease's renewed session, from scratch; `start`'s stop still stops it. */
  renewed(): void {
    this.#deps.keepAlive.track(this, { firstBeatInMs: FIRST_BEAT_MS });
  }

  /** The last keep-alive, before the session is deleted: vCenter hears 100. */
  last(): Promise<void> {
    return this.#deps.keepAlive.lastBeat(this);
  }

  percent(): number {
    return this.#deps.tracker.percent();
  }

  async report(): Promise<void> {
    await Promise.all([this.#deps.reporter.report(), this.#deps.hold.refresh()]);
  }

  sessionLost(error: SessionLostError): void {
    this.#deps.log().warn({ err: error }, 'download session lost');
    this.#deps.lease.lost(error);
  }
}
