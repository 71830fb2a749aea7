import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CldlError } from '../cldl-error.ts';
import { DOWNLOAD_STATES, InvalidRequestError, isDownloadState, parseDownloadId, type DownloadClient, type Readiness } from '../orchestrator/index.ts';
import { HttpError } from './http-error.ts';
import type { Metrics } from './metrics.ts';
import { requireBearer, requireIntentHeader, requireLoopbackHost } from './request-guards.ts';

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

/** Large enough for a request with a 1 MB string to reach validation and be refused by name. */
const MAX_BODY = 2 * 1024 * 1024;

/**
 * The admin server of `cldl worker` (node:http): health for orchestrators, metrics for
 * Prometheus, and a small JSON API for producers that are not Node:
 *
 *   GET /livez · GET /readyz · GET /metrics
 *   POST /downloads (202 {id}) · GET /downloads[?state=&limit=] · GET /downloads/:id · DELETE /downloads/:id
 *   POST /mirrors (202 {id}) · GET /mirrors[?limit=] · GET /mirrors/:id
 *
 * Health and metrics answer anyone (an orchestrator probes by the pod's address; they hold no ids,
 * URLs or secrets); /downloads first passes the checks of request-guards.ts.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    handle(req, res, options).catch((err: unknown) => fail(res, err, options.logger));
  });
  // Slow or stuck clients must not pin connections for ever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    async close() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, o: AdminServerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';

  if (path === '/livez') return only(method, 'GET', () => json(res, 200, { status: 'ok' }));
  if (path === '/readyz') {
    return only(method, 'GET', async () => {
      const r: Readiness = o.draining() ? { ready: false, checks: { shutdown: 'shutting down' } } : await o.readiness();
      json(res, r.ready ? 200 : 503, r);
    });
  }
  if (path === '/metrics') {
    return only(method, 'GET', async () => {
      const body = await o.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': o.metrics.registry.contentType }).end(body);
    });
  }
  if (path === '/mirrors' || path.startsWith('/mirrors/')) {
    guardApi(req, o);
    const id = path === '/mirrors' ? undefined : decodeId(path.slice('/mirrors/'.length));
    if (id === undefined) {
      if (method === 'POST') {
        const body = await readJson(req);
        const mirrorId = await o.client.mirrorLibrary(body);
        res.setHeader('location', `/mirrors/${encodeURIComponent(mirrorId)}`);
        return json(res, 202, { id: mirrorId, status: `/mirrors/${encodeURIComponent(mirrorId)}` });
      }
      return only(method, 'GET', async () => json(res, 200, { mirrors: await o.client.listMirrors({ limit: limitOf(url) }) }));
    }
    return only(method, 'GET', async () => {
      const status = await o.client.getMirror(id);
      if (!status) throw new HttpError(404, 'CLDL_NOT_FOUND', `no mirror run ${id}`);
      json(res, 200, status);
    });
  }
  if (path === '/downloads' || path.startsWith('/downloads/')) {
    guardApi(req, o);
    const id = path === '/downloads' ? undefined : decodeId(path.slice('/downloads/'.length));
    if (id === undefined) {
      if (method === 'POST') return enqueue(req, res, o);
      return only(method, 'GET', async () => {
        const state = url.searchParams.get('state') ?? undefined;
        if (state !== undefined && !isDownloadState(state)) throw new HttpError(400, 'CLDL_INVALID_REQUEST', `state must be one of ${DOWNLOAD_STATES.join(', ')}`, 'state');
        json(res, 200, { downloads: await o.client.listDownloads({ state, limit: limitOf(url) }) });
      });
    }
    parseDownloadId(id);
    if (method === 'GET') {
      const status = await o.client.getDownload(id);
      if (!status) throw new HttpError(404, 'CLDL_NOT_FOUND', `no download ${id}`);
      return json(res, 200, status);
    }
    if (method === 'DELETE') {
      requireIntentHeader(req);
      const outcome = await o.client.cancelDownload(id);
      if (outcome === 'unknown') throw new HttpError(404, 'CLDL_NOT_FOUND', `no download ${id}`);
      return json(res, 202, { id, outcome });
    }
    throw new HttpError(405, 'CLDL_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
  }
  throw new HttpError(404, 'CLDL_NOT_FOUND', `no such endpoint ${path}`);

  async function only(actual: string, expected: string, run: () => void | Promise<void>): Promise<void> {
    if (actual !== expected) throw new HttpError(405, 'CLDL_METHOD_NOT_ALLOWED', `${actual} is not allowed on ${path}; use ${expected}`);
    await run();
  }
}

/** The API's rules: on only where it may be, and then a loopback Host or the bearer token. */
function guardApi(req: IncomingMessage, o: AdminServerOptions): void {
  if (!o.api) {
    throw new HttpError(403, 'CLDL_API_DISABLED', `the download API is off: this server listens on ${o.host} without a token; set http.token (CLDL_HTTP_TOKEN) to enable it`);
  }
  if (o.token === undefined) requireLoopbackHost(req);
  else requireBearer(req, o.token);
}

function limitOf(url: URL): number {
  const limit = Number(url.searchParams.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, 'CLDL_INVALID_REQUEST', 'limit must be a whole number from 1 to 1000', 'limit');
  return limit;
}

/** A JSON body: a plain cross-site form cannot send one (its content-type is never application/json). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'CLDL_UNSUPPORTED_MEDIA_TYPE', 'the body must be JSON, sent with content-type: application/json', 'body');
  }
  const text = await readBody(req);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'CLDL_INVALID_REQUEST', `the body is not JSON: ${(err as Error).message}`, 'body');
  }
}

async function enqueue(req: IncomingMessage, res: ServerResponse, o: AdminServerOptions): Promise<void> {
  const body = await readJson(req);
  let id: string | undefined;
  let request: unknown = body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'id' in body) {
    const { id: given, ...rest } = body as Record<string, unknown>;
    id = parseDownloadId(given);
    request = rest;
  }
  const downloadId = await o.client.enqueueDownload(request, id === undefined ? {} : { id });
  res.setHeader('location', `/downloads/${encodeURIComponent(downloadId)}`);
  json(res, 202, { id: downloadId, status: `/downloads/${encodeURIComponent(downloadId)}` });
}

function decodeId(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, 'CLDL_INVALID_REQUEST', 'the id in the path is not valid percent-encoded UTF-8', 'id');
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw new HttpError(413, 'CLDL_BODY_TOO_LARGE', `the body must be at most ${MAX_BODY} bytes`, 'body');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'CLDL_BODY_TOO_LARGE', `the body must be at most ${MAX_BODY} bytes`, 'body');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
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

function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
