import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDownloadId, type DownloadClient } from '../orchestrator/index.ts';
import { decodeId, downloadState, json, limitOf, readJson } from './http-bodies.ts';
import { HttpError } from './http-error.ts';
import { requireIntentHeader } from './request-guards.ts';

/**
 * The JSON API for producers that are not Node, on the same rules as everything that reads or
 * changes downloads (admin-http.ts applies them first):
 *
 *   POST /downloads (202 {id}) · GET /downloads[?state=&limit=] · GET /downloads/:id · DELETE /downloads/:id
 *   POST /mirrors (202 {id}) · GET /mirrors[?limit=] · GET /mirrors/:id
 */
export async function downloadRoutes(req: IncomingMessage, res: ServerResponse, url: URL, client: DownloadClient): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  const id = path === '/downloads' ? undefined : decodeId(path.slice('/downloads/'.length));
  if (id === undefined) {
    if (method === 'POST') return enqueue(req, res, client);
    only(method, 'GET', path);
    const given = url.searchParams.get('state');
    const state = given === null ? undefined : downloadState(given);
    return json(res, 200, { downloads: await client.listDownloads({ state, limit: limitOf(url) }) });
  }
  parseDownloadId(id);
  if (method === 'GET') {
    const status = await client.getDownload(id);
    if (!status) throw new HttpError(404, 'CLDL_NOT_FOUND', `no download ${id}`);
    return json(res, 200, status);
  }
  if (method === 'DELETE') {
    requireIntentHeader(req);
    const outcome = await client.cancelDownload(id);
    if (outcome === 'unknown') throw new HttpError(404, 'CLDL_NOT_FOUND', `no download ${id}`);
    return json(res, 202, { id, outcome });
  }
  throw new HttpError(405, 'CLDL_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
}

export async function mirrorRoutes(req: IncomingMessage, res: ServerResponse, url: URL, client: DownloadClient): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  const id = path === '/mirrors' ? undefined : decodeId(path.slice('/mirrors/'.length));
  if (id === undefined) {
    if (method === 'POST') {
      return accepted(res, '/mirrors', await client.mirrorLibrary(await readJson(req)));
    }
    only(method, 'GET', path);
    return json(res, 200, { mirrors: await client.listMirrors({ limit: limitOf(url) }) });
  }
  only(method, 'GET', path);
  const status = await client.getMirror(id);
  if (!status) throw new HttpError(404, 'CLDL_NOT_FOUND', `no mirror run ${id}`);
  json(res, 200, status);
}

async function enqueue(req: IncomingMessage, res: ServerResponse, client: DownloadClient): Promise<void> {
  const body = await readJson(req);
  let id: string | undefined;
  let request: unknown = body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'id' in body) {
    const { id: given, ...rest } = body as Record<string, unknown>;
    id = parseDownloadId(given);
    request = rest;
  }
  accepted(res, '/downloads', await client.enqueueDownload(request, id === undefined ? {} : { id }));
}

/** 202 with where to follow what was queued. */
function accepted(res: ServerResponse, collection: string, id: string): void {
  const status = `${collection}/${encodeURIComponent(id)}`;
  res.setHeader('location', status);
  json(res, 202, { id, status });
}

export function only(actual: string, expected: string, path: string): void {
  if (actual !== expected) throw new HttpError(405, 'CLDL_METHOD_NOT_ALLOWED', `${actual} is not allowed on ${path}; use ${expected}`);
}
