import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.ts';

/*
 * What a request to /downloads must show before it is served. The threat is a web browser: any
 * page can make it send requests to 127.0.0.1, and the download API can overwrite files, cancel
 * jobs and read records.
 *
 * - With a token, the bearer token is the proof; a page cannot send it cross-site.
 * - Without one, the Host header must name loopback. DNS rebinding (a page's own domain
 *   re-resolved to 127.0.0.1) makes the browser treat this server as the page's origin, but its
 *   requests still say `Host: the-page's-domain`.
 * - A DELETE carries `X-CLDL-Request` (or an Authorization header): an HTML form can send neither,
 *   nor any DELETE, and a script sending them cross-site needs a CORS preflight this server never
 *   grants. (A POST must be `application/json`, which a form cannot send either.)
 */

/** The header a DELETE carries to show a script sent it, not a form; any non-empty value will do. */
export const INTENT_HEADER = 'x-cldl-request';

/** Loopback names, with any port: what a local client or an SSH tunnel says in Host. */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|\[::1\]|localhost)(?::\d{1,5})?$/i;

export function requireBearer(req: IncomingMessage, token: string): void {
  const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new HttpError(401, 'CLDL_UNAUTHORIZED', 'a valid bearer token is required: Authorization: Bearer <token>');
  }
}

export function requireLoopbackHost(req: IncomingMessage): void {
  const host = req.headers.host ?? '';
  if (LOOPBACK_HOST.test(host)) return;
  throw new HttpError(
    421,
    'CLDL_HOST_NOT_ALLOWED',
    `Host ${JSON.stringify(host.slice(0, 100))} is refused: without a token (http.token) the download API answers only Host 127.0.0.1, [::1] or localhost, with any port, so that a web page cannot reach it by DNS rebinding; connect by one of those names or set a token`,
  );
}

export function requireIntentHeader(req: IncomingMessage): void {
  if (req.headers[INTENT_HEADER] || req.headers.authorization) return;
  throw new HttpError(
    403,
    'CLDL_HEADER_REQUIRED',
    `${req.method ?? 'this request'} needs the header X-CLDL-Request: 1 (or an Authorization header), which a cross-site HTML form cannot send`,
    INTENT_HEADER,
  );
}
