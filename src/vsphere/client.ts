import type { Dispatcher } from 'undici';
import { ZodError } from 'zod';
import { CldlError } from '../cldl-error.ts';
import { apiDialect } from './api-dialect.ts';
import { ApiSession } from './api-session.ts';
import type { Dialect, VapiOperation } from './dialect.ts';
import { readCapped } from './capped-body.ts';
import { isVapiError, LoginError, ResponseTooLargeError, VapiConnectionError, VapiError, VapiProtocolError } from './errors.ts';
import type { ClientLogger, VapiCallEvent } from './logger.ts';
import { restDialect } from './rest-dialect.ts';
import { withRetry, type RetryOptions } from './retry.ts';
import { ServerClock } from './server-clock.ts';
import { asTlsVerificationError } from './tls.ts';
import type { ApiDialectName } from './types.ts';

export interface VapiClientOptions {
  /** The vCenter's name in cldl's configuration, for messages and metrics. */
  vcenter: string;
  /** `https://vcenter.example.com` (a path prefix is kept, for reverse proxies). */
  url: string;
  username: string;
  password: string;
  /** `auto` probes `/api` at the first login and falls back to `/rest`. */
  api: ApiDialectName | 'auto';
  dispatcher: Dispatcher;
  requestTimeoutMs: number;
  /** Longest answer body read, success or error; a longer one fails the call (ResponseTooLargeError). */
  maxResponseBytes: number;
  apiSessionKeepAliveMs: number;
  /** Transient failures (503, resets) of a call are retried this way before the caller sees them. */
  retry: RetryOptions;
  logger?: ClientLogger | undefined;
  onCall?: ((event: VapiCallEvent) => void) | undefined;
}

const DIALECTS: Record<ApiDialectName, Dialect> = { rest: restDialect, api: apiDialect };

/**
 * The funnel every vAPI call goes through: the API session header, one re-login on 401, a request
 * timeout, JSON in and out, and every failure mapped once into cldl's errors.
 */
export class VapiClient {
  readonly vcenter: string;
  readonly session: ApiSession;
  /** vCenter's clock, from the Date header of every answer (errors included). */
  readonly clock = new ServerClock();
  readonly #options: VapiClientOptions;
  readonly #origin: string;
  readonly #prefix: string;
  #dialect: Dialect | undefined;

  constructor(options: VapiClientOptions) {
    this.vcenter = options.vcenter;
    this.#options = options;
    const url = new URL(options.url);
    this.#origin = url.origin;
    this.#prefix = url.pathname.replace(/\/+$/, '');
    this.#dialect = options.api === 'auto' ? undefined : DIALECTS[options.api];
    this.session = new ApiSession(
      {
        login: () => this.#login(),
        ping: (token) => this.request(this.#dialect!.sessionInfo(), token).then(() => undefined),
        logout: (token) => this.request(this.#dialect!.logout(), token),
      },
      { keepAliveMs: options.apiSessionKeepAliveMs, logger: options.logger },
    );
  }

  get origin(): string {
    return this.#origin;
  }

  /** The dialect in use; with `auto`, known after the first login. */
  async dialect(): Promise<ApiDialectName> {
    if (this.#dialect === undefined) await this.session.token();
    return this.#dialect!.name;
  }

  /**
   * Runs one authenticated call: transient failures are retried with backoff, and a 401 leads to
   * one new login and a repeat.
   */
  run<T>(build: (dialect: Dialect) => VapiOperation<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(() => this.#authenticated(build, signal), this.#options.retry, signal, (err) =>
      this.#options.logger?.debug({ vcenter: this.vcenter, err }, 'retrying a vAPI call'),
    );
  }

  async #authenticated<T>(build: (dialect: Dialect) => VapiOperation<T>, signal?: AbortSignal): Promise<T> {
    const token = await this.session.token();
    const op = build(this.#dialect!);
    try {
      return await this.request(op, token, signal);
    } catch (err) {
      if (!isVapiError(err, 'unauthenticated')) throw err;
      this.#options.logger?.info({ vcenter: this.vcenter, operation: op.name }, 'vCenter API session expired; logging in again');
      await this.session.invalidate(token);
      return await this.request(op, await this.session.token(), signal);
    }
  }

  /** One HTTP exchange for `op` in the current dialect, with `token` if given; no re-login. */
  request<T>(op: VapiOperation<T>, token?: string, signal?: AbortSignal): Promise<T> {
    return this.#exchange(this.#dialect ?? apiDialect, op, token, signal);
  }

  async #exchange<T>(dialect: Dialect, op: VapiOperation<T>, token?: string, signal?: AbortSignal): Promise<T> {
    const started = performance.now();
    const headers: Record<string, string> = { accept: 'application/json', ...op.headers };
    if (token !== undefined) headers['vmware-api-session-id'] = token;
    let body: string | undefined;
    if (op.body !== undefined) {
      body = JSON.stringify(op.body);
      headers['content-type'] = 'application/json';
    }
    const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;

    let status: number;
    let text: string | undefined;
    const sentAt = Date.now();
    try {
      const res = await this.#options.dispatcher.request({
        origin: this.#origin,
        path: this.#prefix + op.path,
        method: op.method,
        headers,
        body,
        signal: combined,
      });
      status = res.statusCode;
      this.clock.observe(res.headers.date, sentAt, Date.now());
      text = await readCapped(res, this.#options.maxResponseBytes);
    } catch (err) {
      this.#emit(op, 'connection', started);
      if (signal?.aborted) throw signal.reason;
      if (err instanceof CldlError) throw err;
      throw (
        asTlsVerificationError(this.#origin, err) ??
        new VapiConnectionError(
          op.name,
          timeout.aborted ? `no answer from ${this.#origin} within ${this.#options.requestTimeoutMs} ms` : `${this.#origin}: ${describe(err)}`,
          { cause: err },
        )
      );
    }

    if (text === undefined) {
      this.#emit(op, 'error', started, status);
      throw new ResponseTooLargeError({ operation: op.name, vcenter: this.vcenter, status, limitBytes: this.#options.maxResponseBytes });
    }
    if (status < 200 || status >= 300) {
      const error = this.#error(dialect, op, status, text);
      this.#emit(op, error.errorType === 'unauthenticated' ? 'unauthenticated' : 'error', started, status);
      throw error;
    }
    this.#emit(op, 'ok', started, status);
    if (token !== undefined) this.session.touch();
    return decode(op, dialect, text);
  }

  #error(dialect: Dialect, op: VapiOperation<unknown>, status: number, text: string): VapiError {
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const info = json === undefined ? { messages: [] } : dialect.parseError(json);
    const plain = json === undefined ? text.trim().slice(0, 300) : '';
    return new VapiError({
      operation: op.name,
      status,
      errorType: info.errorType ?? errorTypeForStatus(status),
      serverMessage: info.messages.join('; ') || plain || `HTTP ${status} without a message`,
    });
  }

  async #login(): Promise<string> {
    const authorization = `Basic ${Buffer.from(`${this.#options.username}:${this.#options.password}`).toString('base64')}`;
    const candidates = this.#dialect ? [this.#dialect] : [apiDialect, restDialect];
    for (let i = 0; ; i++) {
      const dialect = candidates[i]!;
      try {
        const token = await this.#exchange(dialect, dialect.login(authorization));
        this.#dialect = dialect;
        this.#options.logger?.info({ vcenter: this.vcenter, api: dialect.name }, 'logged in to vCenter');
        return token;
      } catch (err) {
        // `auto`: a vCenter older than 7.0U2 has no /api and answers 404 there.
        const probeMissed = isVapiError(err) && (err.status === 404 || err.errorType === 'operation_not_found');
        if (probeMissed && i < candidates.length - 1) continue;
        if (isVapiError(err) && (err.status === 401 || err.status === 403)) {
          throw new LoginError(
            `vCenter ${this.vcenter} (${this.#origin}) refused the login of user ${this.#options.username}: ${err.serverMessage}`,
            { cause: err },
          );
        }
        throw err;
      }
    }
  }

  #emit(op: VapiOperation<unknown>, outcome: VapiCallEvent['outcome'], started: number, status?: number): void {
    const durationMs = performance.now() - started;
    this.#options.logger?.debug({ vcenter: this.vcenter, operation: op.name, outcome, status, durationMs }, 'vAPI call');
    this.#options.onCall?.({ vcenter: this.vcenter, operation: op.name, outcome, ...(status === undefined ? {} : { status }), durationMs });
  }
}

function decode<T>(op: VapiOperation<T>, dialect: Dialect, text: string): T {
  let payload: unknown;
  try {
    // Some servers (govmomi's vcsim) label JSON as text/plain: the body decides, not the header.
    payload = text.trim() === '' ? undefined : JSON.parse(text);
  } catch (err) {
    throw new VapiProtocolError(op.name, `body is not JSON: ${text.slice(0, 120)}`, { cause: err });
  }
  try {
    return op.decode(dialect.unwrap(payload));
  } catch (err) {
    if (err instanceof ZodError) {
      const issue = err.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'body';
      throw new VapiProtocolError(op.name, `${where}: ${issue?.message ?? err.message}`, { cause: err });
    }
    throw err;
  }
}

function errorTypeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'unauthorized';
    case 404:
      return 'not_found';
    case 409:
      return 'concurrent_change';
    case 503:
      return 'service_unavailable';
    case 504:
      return 'timed_out';
    default:
      return 'error';
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${err.message} (${code})` : err.message;
}
