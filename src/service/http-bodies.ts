import type { IncomingMessage, ServerResponse } from 'node:http';
import { DOWNLOAD_STATES, isDownloadState, type DownloadState } from '../orchestrator/index.ts';
import { HttpError } from './http-error.ts';

/** Large enough for a request with a 1 MB string to reach validation and be refused by name. */
const MAX_BODY = 2 * 1024 * 1024;

export function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' }).end(text);
}

/** A JSON body: a plain cross-site form cannot send one (its content-type is never application/json). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
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

/** A path segment, decoded; a malformed percent-encoding is the client's error, not ours. */
export function decodeId(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, 'CLDL_INVALID_REQUEST', 'the id in the path is not valid percent-encoded UTF-8', 'id');
  }
}

export function limitOf(url: URL): number {
  const limit = Number(url.searchParams.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, 'CLDL_INVALID_REQUEST', 'limit must be a whole number from 1 to 1000', 'limit');
  return limit;
}

/** A `state` query value: one of the download states, or a 400 naming them. */
export function downloadState(value: string): DownloadState {
  if (!isDownloadState(value)) throw new HttpError(400, 'CLDL_INVALID_REQUEST', `state must be one of ${DOWNLOAD_STATES.join(', ')}`, 'state');
  return value;
}
