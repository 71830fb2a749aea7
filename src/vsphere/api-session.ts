import type { ClientLogger } from './logger.ts';

/** What ApiSession needs from the client: three calls, nothing about HTTP. */
export interface ApiSessionTransport {
  login(): Promise<string>;
  ping(token: string): Promise<void>;
  logout(token: string): Promise<void>;
}

export interface ApiSessionOptions {
  /** While someone holds the session, ping it when no call used it for this long. */
  keepAliveMs: number;
  logger?: ClientLogger | undefined;
}

/**
 * The one vCenter API session a process shares across all its jobs.
 *
 * Logging in is single-flight: a burst of 401s from concurrent calls produces one login, not one
 * per call. A long transfer makes no vAPI calls for minutes, so while anyone `hold()`s the session
 * a timer pings it before vCenter's idle timeout (30 min by default) can end it under the transfer.
 */
export class ApiSession {
  readonly #transport: ApiSessionTransport;
  readonly #options: ApiSessionOptions;
  #token: Promise<string> | undefined;
  #holders = 0;
  #lastUsed = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(transport: ApiSessionTransport, options: ApiSessionOptions) {
    this.#transport = transport;
    this.#options = options;
  }

  /** The current token, logging in first if there is none. */
  token(): Promise<string> {
    if (this.#closed) return Promise.reject(new Error('the vCenter client is closed'));
    if (this.#token === undefined) {
      const login = this.#transport.login();
      this.#token = login;
      // A failed login must not stick: the next caller tries again.
      void login.then(
        () => this.touch(),
        () => {
          if (this.#token === login) this.#token = undefined;
        },
      );
    }
    return this.#token;
  }

  /**
   * Forget `stale` after vCenter answered 401 for it. When another caller already replaced it,
   * nothing happens, so N concurrent 401s still cause one login.
   */
  async invalidate(stale: string): Promise<void> {
    const current = this.#token;
    if (current === undefined) return;
    const token = await current.catch(() => undefined);
    if (token === stale && this.#token === current) this.#token = undefined;
  }

  touch(): void {
    this.#lastUsed = Date.now();
  }

  /** Keeps the API session alive until the returned function is called. */
  hold(): () => void {
    this.#holders++;
    this.#timer ??= setInterval(() => void this.#tick(), Math.max(1000, Math.floor(this.#options.keepAliveMs / 2))).unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holders === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  async #tick(): Promise<void> {
    if (this.#holders === 0 || this.#token === undefined) return;
    if (Date.now() - this.#lastUsed < this.#options.keepAliveMs) return;
    try {
      const token = await this.token();
      await this.#transport.ping(token);
      this.touch();
    } catch (err) {
      // The next real call logs in again if the session is gone; nothing else to do here.
      this.#options.logger?.warn({ err }, 'vCenter API session keep-alive failed');
    }
  }

  /** Logs out (best effort) and refuses further use. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const current = this.#token;
    this.#token = undefined;
    const token = await current?.catch(() => undefined);
    if (token === undefined) return;
    try {
      await this.#transport.logout(token);
    } catch (err) {
      this.#options.logger?.warn({ err }, 'vCenter logout failed');
    }
  }
}
