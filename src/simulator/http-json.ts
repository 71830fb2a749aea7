import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Dialect, VapiError } from './vapi-errors.ts';

/** vAPI request bodies are small; anything bigger is a client bug, not something to buffer. */
const BODY_LIMIT = 1_048_576;

/** The request's JSON body, or undefined if it has none; invalid JSON is the client's invalid_argument. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new VapiError('invalid_argument', `The request body exceeds ${BODY_LIMIT} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new VapiError('invalid_argument', 'The request body is not valid JSON.', { id: 'com.vmware.vapi.rest.json.parse_error' });
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  // RFC 9110 §8.6: no Content-Length on a 204.
  res.writeHead(status, status === 204 ? {} : { 'content-length': 0 });
  res.end();
}

export function sendVapiError(res: ServerResponse, err: VapiError, dialect: Dialect): void {
  sendJson(res, err.statusFor(dialect), err.bodyFor(dialect));
}
