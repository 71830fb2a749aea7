import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CldlError } from '../cldl-error.ts';
import { InvalidRequestError, type DownloadClient, type Readiness } from '../orchestrator/index.ts';
import { downloadRoutes, mirrorRoutes, only } from './api-routes.ts';
import { json } from './http-bodies.ts';
import { HttpError } from './http-error.ts';
import type { Metrics } from './metrics.ts';
import { OPENAPI } from './openapi.ts';
import { requireBearer, requireLoopbackHost } from './request-guards.ts';
import type { StatusBoard } from './status-board.ts';
import { statusEvents, statusJson, statusPage } from './status-routes.ts';

export interface AdminServerOptions {
  host: string;
  port: number;
  /** Required on every /downloads call when set; without it /downloads answers only a loopback Host. */
  token?: string | undefined;
  /**
   * Serve /downloads at all. Off when the server listens beyond loopback without a token: health
   * and metrics stay reachable (a container needs them), the API answers 403 saying why.
   */
  api: boolean;
  client: DownloadClient;
  /** What the status page, /status and /events show. */
  status: StatusBoard;
  metrics: Metrics;
  readiness(): Promise<Readiness>;
  /** True from the moment SIGTERM arrives: /readyz answers 503 at once. */
  draining(): boolean;
  logger: Logger;
}

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The admin server of `cldl worker` (node:http), one module per area:
 *
 *   GET /livez · GET /readyz · GET /metrics · GET /openapi.json     (here, and openapi.ts)
 *   GET / (the status page) · GET /status · GET /events              (status-routes.ts)
 *   /downloads · /mirrors                                            (api-routes.ts)
 *
 * Health, metrics and the API description answer anyone (an orchestrator probes by the pod's
 * address; they hold no ids, URLs or secrets). Everything that shows or changes downloads first
 * passes the checks of request-guards.ts.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const closing = new AbortController();
  const server = http.createServer((req, res) => {
    handle(req, res, options, closing.signal).catch((err: unknown) => fail(res, err, options.logger));
  });
  // Slow or stuck clients must not pin connections for ever (/events is long on purpose: no request timeout there).
  server.headersTimeout = 10_000;
  server.requestTimeout = 0;
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    async close() {
      closing.abort();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, o: AdminServerOptions, closing: AbortSignal): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';

  if (path === '/livez') return only(method, 'GET', path), json(res, 200, { status: 'ok' });
  if (path === '/readyz') {
    only(method, 'GET', path);
    const r: Readiness = o.draining() ? { ready: false, checks: { shutdown: 'shutting down' } } : await o.readiness();
    return json(res, r.ready ? 200 : 503, r);
  }
  if (path === '/metrics') {
    only(method, 'GET', path);
    const body = await o.metrics.registry.metrics();
    return void res.writeHead(200, { 'content-type': o.metrics.registry.contentType }).end(body);
  }
  if (path === '/openapi.json') return only(method, 'GET', path), json(res, 200, OPENAPI);

  if (path === '/') {
    only(method, 'GET', path);
    if (!o.api) throw apiDisabled(o);
    // With a token the page comes without data and asks for it; without one, only a loopback Host sees it.
    if (o.token === undefined) requireLoopbackHost(req);
    return statusPage(res, url, o.status, o.token === undefined);
  }
  if (path === '/status' || path === '/events') {
    only(method, 'GET', path);
    guardApi(req, o);
    return path === '/status' ? statusJson(res, url, o.status) : statusEvents(req, res, url, o.status, closing);
  }
  if (path === '/downloads' || path.startsWith('/downloads/')) {
    guardApi(req, o);
    return downloadRoutes(req, res, url, o.client);
  }
  if (path === '/mirrors' || path.startsWith('/mirrors/')) {
    guardApi(req, o);
    return mirrorRoutes(req, res, url, o.client);
  }
  throw new HttpError(404, 'CLDL_NOT_FOUND', `no such endpoint ${path}`);
}

/** The API's rules: on only where it may be, and then a loopback Host or the bearer token. */
function guardApi(req: IncomingMessage, o: AdminServerOptions): void {
  if (!o.api) throw apiDisabled(o);
  if (o.token === undefined) requireLoopbackHost(req);
  else requireBearer(req, o.token);
}

function apiDisabled(o: AdminServerOptions): HttpError {
  return new HttpError(403, 'CLDL_API_DISABLED', `the download API is off: this server listens on ${o.host} without a token; set http.token (CLDL_HTTP_TOKEN) to enable it`);
}

function fail(res: ServerResponse, err: unknown, logger: Logger): void {
  let status = 500;
  let body: { code: string; message: string; field?: string };
  if (err instanceof HttpError) {
    status = err.status;
    body = { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
  } else if (err instanceof InvalidRequestError) {
    status = 400;
    body = { code: err.code, message: err.message, field: err.field };
  } else if (err instanceof CldlError) {
    status = err.retryable ? 503 : 500;
    body = { code: err.code, message: err.message };
  } else {
    logger.error({ err }, 'admin HTTP request failed');
    body = { code: 'CLDL_INTERNAL', message: 'internal error; see the worker log' };
  }
  if (res.headersSent) return void res.destroy();
  // Say we close: the rest of a refused body is not worth reading.
  if (status === 413) res.setHeader('connection', 'close');
  json(res, status, { error: body });
}
