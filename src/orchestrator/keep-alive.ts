import { EventEmitter } from 'node:events';
import { backoffDelay, type BackoffOptions } from '../backoff.ts';
import { isVapiError, type DownloadSessionInfo } from '../vsphere/index.ts';
import { SessionLostError } from './errors.ts';

/** The session half of a heartbeat target: which session, and the two calls a heartbeat makes. */
export interface HeartbeatSession {
  /** The current session; undefined between sessions (none is kept alive then). */
  id(): string | undefined;
  keepAlive(id: string, progress?: number): Promise<void>;
  get(id: string): Promise<DownloadSessionInfo>;
  /** vCenter's clock (ms since the epoch): its expiration times are on it, not on ours. */
  now(): number;
}

/** One download the heartbeat looks after. */
export interface HeartbeatTarget {
  /** The download id, for events and logs. */
  readonly key: string;
  readonly session: HeartbeatSession;
  /** Progress for vCenter, 0–100; the heartbeat sends it only when it exceeds what vCenter holds. */
  percent(): number;
  /** Reports progress to BullMQ and Redis, every `reportIntervalMs`. */
  report(): Promise<void>;
  /** The session ended on vCenter or vanished: stop the transfer. */
  sessionLost(error: SessionLostError): void;
}

export interface KeepAliveOptions {
  /** Keep-alive period when the session's expiry allows it (vCenter's idle timeout is 5 min). */
  intervalMs: number;
  reportIntervalMs: number;
  /** Granularity of the one timer. */
  tickMs: number;
  /** Backoff of failed keep-alives, capped by a third of the session's time left. */
  retry: BackoffOptions;
}

export interface KeepAliveEvents {
  beat: [{ key: string; sessionId: string; progress: number; nextInMs: number }];
  /** The last keep-alive of a session, before it is deleted (`lastBeat`), went through. */
  lastBeat: [{ key: string; sessionId: string; progress: number }];
  failed: [{ key: string; sessionId: string; error: Error; failures: number; retryInMs: number }];
  reportFailed: [{ key: string; error: Error }];
  lost: [{ key: string; error: SessionLostError }];
}

const MIN_BEAT_MS = 1_000;

/** What is known of a session when tracking begins. */
export interface TrackOptions {
  /** The progress vCenter holds already (a session an earlier attempt reported to). */
  progress?: number;
  /**
   * When to beat first; at once by default. A session just created, or just read and found ACTIVE,
   * needs no beat yet: a download that ends before then is spared one keep_alive and one get.
   */
  firstBeatInMs?: number;
  /** The session's expiration time, on vCenter's clock, when known: the first beat comes before a third of what is left. */
  expiresAt?: number | undefined;
}

interface Entry {
  target: HeartbeatTarget;
  lastProgress: number;
  nextBeat: number;
  nextReport: number;
  /** The beat in flight, if any. */
  beating: Promise<void> | undefined;
  reporting: boolean;
  failures: number;
  expiresAt: number | undefined;
}

/**
 * The keep-alive heartbeat of every active download session in this process, driven by one
 * self-rescheduling timer (like BullMQ's lock manager). For each session it calls keep_alive, with
 * the progress only when it grew past what vCenter holds, and then reads the session back: a session that is no longer ACTIVE, or no
 * longer exists, is reported through `sessionLost`. The next beat comes after the interval, but
 * never later than a third of the time the session has left, so a failed keep-alive is retried
 * (with backoff) twice before the session could expire. Failures are events, never throws.
 */
export class KeepAlive extends EventEmitter<KeepAliveEvents> {
  readonly #options: KeepAliveOptions;
  readonly #entries = new Map<HeartbeatTarget, Entry>();
  #timer: NodeJS.Timeout | undefined;
  #due = 0;

  constructor(options: KeepAliveOptions) {
    super();
    this.#options = options;
  }

  /** Starts beating for `target`; returns the function that stops it. */
  track(target: HeartbeatTarget, options: TrackOptions = {}): () => void {
    const now = Date.now();
    const entry: Entry = {
      target,
      lastProgress: options.progress ?? 0,
      nextBeat: now,
      nextReport: now + this.#options.reportIntervalMs,
      beating: undefined,
      reporting: false,
      failures: 0,
      expiresAt: options.expiresAt,
    };
    if (options.firstBeatInMs) entry.nextBeat = now + this.#capped(options.firstBeatInMs, entry);
    this.#entries.set(target, entry);
    this.#schedule(Math.max(0, Math.min(entry.nextBeat, entry.nextReport) - now));
    return () => {
      this.#entries.delete(target);
      if (this.#entries.size === 0 && this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /**
   * Reports 100 to vCenter after the last bytes, before the session is deleted: a keep_alive with
   * the progress when it grew, and no `get` (nothing the session could say changes what comes
   * next). Failures are ignored (no event): the progress only informs vCenter's admins.
   */
  async lastBeat(target: HeartbeatTarget): Promise<void> {
    const entry = this.#entries.get(target);
    const sessionId = target.session.id();
    if (!entry || sessionId === undefined) return;
    await entry.beating; // never two keep-alives at once: vCenter would see the progress go down
    const percent = Math.min(100, Math.max(0, Math.floor(target.percent())));
    if (percent <= entry.lastProgress) return;
    try {
      await target.session.keepAlive(sessionId, percent);
      entry.lastProgress = percent;
      this.emit('lastBeat', { key: target.key, sessionId, progress: percent });
    } catch {
      // informational
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#entries.clear();
  }

  /** The one timer fires within `delay` (or sooner, if it was set sooner). */
  #schedule(delay: number): void {
    if (this.#timer && this.#due <= Date.now() + delay) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#due = Date.now() + delay;
    this.#timer = setTimeout(() => this.#tick(), delay);
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    const now = Date.now();
    for (const entry of this.#entries.values()) {
      if (!entry.beating && now >= entry.nextBeat) entry.beating = this.#beat(entry).finally(() => (entry.beating = undefined));
      if (!entry.reporting && now >= entry.nextReport) void this.#report(entry);
    }
    if (this.#entries.size > 0) this.#schedule(this.#options.tickMs);
  }

  async #report(entry: Entry): Promise<void> {
    entry.reporting = true;
    try {
      await entry.target.report();
    } catch (err) {
      this.emit('reportFailed', { key: entry.target.key, error: err as Error });
    } finally {
      entry.reporting = false;
      entry.nextReport = Date.now() + this.#options.reportIntervalMs;
    }
  }

  async #beat(entry: Entry): Promise<void> {
    const { target } = entry;
    const sessionId = target.session.id();
    if (sessionId === undefined) {
      entry.nextBeat = Date.now() + this.#options.tickMs;
      return;
    }
    // "If specified, the new progress should be greater than the current progress"
    // (DownloadSession.keep_alive): a vCenter that enforces it refuses an unchanged progress, and
    // the session would expire for want of an accepted keep-alive. So progress goes only when it grew.
    const percent = Math.min(100, Math.max(0, Math.floor(target.percent())));
    const grown = percent > entry.lastProgress ? percent : undefined;
    try {
      await target.session.keepAlive(sessionId, grown);
      if (grown !== undefined) entry.lastProgress = grown;
      const progress = entry.lastProgress;
      const info = await target.session.get(sessionId);
      if (!this.#entries.has(target) || target.session.id() !== sessionId) return;
      if (info.state !== 'ACTIVE') return this.#lose(entry, SessionLostError.ended(info));
      entry.failures = 0;
      entry.expiresAt = info.expirationTime?.getTime();
      const nextInMs = this.#capped(this.#options.intervalMs, entry);
      entry.nextBeat = Date.now() + nextInMs;
      this.emit('beat', { key: target.key, sessionId, progress, nextInMs });
    } catch (err) {
      if (!this.#entries.has(target) || target.session.id() !== sessionId) return;
      await this.#failed(entry, sessionId, err as Error);
    }
  }

  async #failed(entry: Entry, sessionId: string, error: Error): Promise<void> {
    const { target } = entry;
    if (isVapiError(error, 'not_found')) {
      return this.#lose(entry, SessionLostError.gone(sessionId, error));
    }
    if (isVapiError(error, 'not_allowed_in_current_state') || isVapiError(error, 'invalid_argument')) {
      // Either the session is no longer ACTIVE, or vCenter holds a higher progress than ours (another
      // worker reported it before this one took over): the session itself tells which.
      const info = await target.session.get(sessionId).catch(() => undefined);
      if (info && info.state !== 'ACTIVE') return this.#lose(entry, SessionLostError.ended(info, error));
      if (info?.clientProgress !== undefined) entry.lastProgress = Math.max(entry.lastProgress, info.clientProgress);
    }
    entry.failures++;
    const retryInMs = this.#capped(backoffDelay(entry.failures, this.#options.retry), entry);
    entry.nextBeat = Date.now() + retryInMs;
    this.emit('failed', { key: target.key, sessionId, error, failures: entry.failures, retryInMs });
  }

  /**
   * `delay`, but never more than a third of the session's time left, measured on vCenter's clock
   * (a worker whose clock runs ahead would otherwise see no time left at all). That cap never
   * drops below a second: a keep-alive storm helps no session.
   */
  #capped(delay: number, entry: Entry): number {
    if (entry.expiresAt === undefined) return delay;
    const third = Math.floor((entry.expiresAt - entry.target.session.now()) / 3);
    return Math.min(delay, Math.max(MIN_BEAT_MS, third));
  }

  #lose(entry: Entry, error: SessionLostError): void {
    this.#entries.delete(entry.target);
    this.emit('lost', { key: entry.target.key, error });
    entry.target.sessionLost(error);
  }
}
