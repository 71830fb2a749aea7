import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DownloadState } from '../orchestrator/index.ts';
import { downloadState, json } from './http-bodies.ts';
import type { StatusBoard } from './status-board.ts';
import { renderStatusPage } from './status-page.ts';

/** How often `/events` looks for a change to send, and how often it says it is still there. */
const EVENT_EVERY_MS = 1000;
const PING_EVERY_MS = 15_000;

/**
 * `GET /`: the page. Without a token (so only on a loopback Host) it comes with its data; with one,
 * it asks for the token in the browser and fetches the data itself. The Content-Security-Policy
 * lets it run its one script and talk to this server, nothing else; it cannot be framed.
 */
export async function statusPage(res: ServerResponse, url: URL, board: StatusBoard, withData: boolean): Promise<void> {
  const state = stateOf(url);
  const nonce = randomBytes(16).toString('base64');
  const html = renderStatusPage(withData ? await board.snapshot(state) : undefined, { state, auth: withData ? 'loopback' : 'token', nonce });
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

/** `GET /status`: the page's data as JSON (what the page polls when it cannot follow `/events`). */
export async function statusJson(res: ServerResponse, url: URL, board: StatusBoard): Promise<void> {
  json(res, 200, await board.snapshot(stateOf(url)));
}

/**
 * `GET /events`: Server-Sent Events, one `status` event with the whole snapshot whenever it
 * changed (at most every second), a comment line now and then so proxies keep the stream open.
 */
export async function statusEvents(req: IncomingMessage, res: ServerResponse, url: URL, board: StatusBoard, closing: AbortSignal): Promise<void> {
  const state = stateOf(url);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const gone = AbortSignal.any([closing, abortOnClose(req)]);
  let last = '';
  let lastWrite = Date.now();
  while (!gone.aborted) {
    const snapshot = await board.snapshot(state).catch(() => undefined);
    const data = snapshot ? JSON.stringify(snapshot) : undefined;
    // `at` changes every time: compare the rest.
    const key = data?.replace(/^\{"at":"[^"]*",/, '{');
    if (data && key !== last) {
      res.write(`event: status\ndata: ${data}\n\n`);
      last = key ?? '';
      lastWrite = Date.now();
    } else if (Date.now() - lastWrite > PING_EVERY_MS) {
      res.write(': still here\n\n');
      lastWrite = Date.now();
    }
    await sleep(EVENT_EVERY_MS, undefined, { signal: gone }).catch(() => undefined);
  }
  res.end();
}

/** The page's filter: all states when absent or empty. */
function stateOf(url: URL): DownloadState | undefined {
  const state = url.searchParams.get('state');
  return state ? downloadState(state) : undefined;
}

function abortOnClose(req: IncomingMessage): AbortSignal {
  const ac = new AbortController();
  req.socket.once('close', () => ac.abort());
  return ac.signal;
}
