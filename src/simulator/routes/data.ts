import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiSessions } from '../auth.ts';
import { parseRange } from '../byte-range.ts';
import type { CallLog, DataRequestRecord } from '../call-log.ts';
import { openContent } from '../content.ts';
import { chunkPool } from '../generated-content.ts';
import type { DownloadSession, DownloadSessions, SessionFile } from '../download-sessions.ts';
import type { DataPlan, Faults } from '../faults.ts';
import { sendVapiError } from '../http-json.ts';
import { writeWithBackpressure as write } from '../response-write.ts';
import { Throttle } from '../throttle.ts';
import { VapiError } from '../vapi-errors.ts';

/**
 * The download endpoint a PREPARED file's `download_endpoint.uri` names: plain HTTP GET of the
 * bytes, with Range, behind the API session header like vCenter's /cls/data. Its errors carry a
 * vAPI-style JSON body (/api form) so a client can log something useful.
 */

export const DATA_PREFIX = '/cls/data/';

/**
 * `/cls/data/{session}/{file}`, the file name percent-encoded as one segment (so `../x` or `/etc/x`
 * stay names). A name of only dots cannot be a path segment (URL parsers resolve it), so those go
 * in `?name=`.
 */
export function dataPath(sessionId: string, fileName: string): string {
  const sid = encodeURIComponent(sessionId);
  return /^\.{0,2}$/.test(fileName) ? `${DATA_PREFIX}${sid}?name=${encodeURIComponent(fileName)}` : `${DATA_PREFIX}${sid}/${encodeURIComponent(fileName)}`;
}

function parseDataPath(url: URL): { sessionId: string; fileName: string } | undefined {
  const rest = url.pathname.slice(DATA_PREFIX.length).split('/');
  try {
    if (rest.length === 1 && url.searchParams.has('name')) return { sessionId: decodeURIComponent(rest[0]!), fileName: url.searchParams.get('name')! };
    if (rest.length === 2) return { sessionId: decodeURIComponent(rest[0]!), fileName: decodeURIComponent(rest[1]!) };
  } catch {
    // Malformed percent-encoding: no such URL.
  }
  return undefined;
}

export interface DataDeps {
  sessions: DownloadSessions;
  apiSessions: ApiSessions;
  faults: Faults;
  throttle: Throttle;
  log: CallLog;
  /** false: ignore Range, always 200 with the whole body. */
  ranges: boolean;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function notAllowed(text: string): VapiError {
  return new VapiError('not_allowed_in_current_state', text, { id: 'com.vmware.vdcs.cls-main.transfer_not_allowed' });
}

/** Checks in the order a client learns most from: fault, auth, session, file. */
function authorize(req: IncomingMessage, target: { sessionId: string; fileName: string }, d: DataDeps): { s: DownloadSession; f: SessionFile } {
  const injected = d.faults.errorFor('data');
  if (injected) throw injected;
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new VapiError('invalid_request', `${req.method} is not allowed on a download URL.`, { status: 405 });
  d.apiSessions.authenticate(header(req, 'vmware-api-session-id'));
  const s = d.sessions.findForData(target.sessionId);
  if (!s) throw new VapiError('not_found', `Download session ${target.sessionId} does not exist.`, { id: 'com.vmware.vdcs.cls-main.download_session_not_found' });
  const f = s.files.get(target.fileName);
  if (!f) throw new VapiError('not_found', `File ${JSON.stringify(target.fileName)} is not part of download session ${s.id}.`, { id: 'com.vmware.vdcs.cls-main.file_not_found' });
  if (s.state !== 'ACTIVE') throw notAllowed(`Download session ${s.id} is ${s.state}.`);
  if (f.status !== 'PREPARED') throw notAllowed(`File ${JSON.stringify(f.file.name)} is ${f.status}, not PREPARED.`);
  return { s, f };
}

export async function serveData(req: IncomingMessage, res: ServerResponse, url: URL, d: DataDeps): Promise<void> {
  d.log.count('data');
  const target = parseDataPath(url);
  if (!target) {
    sendVapiError(res, new VapiError('not_found', `No download URL ${url.pathname}.`), 'api');
    return;
  }
  const record = d.log.dataRequest(req.method, target.sessionId, target.fileName, header(req, 'range'));
  let s: DownloadSession;
  let f: SessionFile;
  try {
    ({ s, f } = authorize(req, target, d));
  } catch (err) {
    if (!(err instanceof VapiError)) throw err;
    record.status = err.statusFor('api');
    record.ended = true;
    sendVapiError(res, err, 'api');
    return;
  }
  d.sessions.touch(s);

  const size = f.file.size;
  const range = d.ranges ? parseRange(header(req, 'range'), size) : ({ kind: 'none' } as const);
  const common = { 'content-type': 'application/octet-stream', ...(d.ranges && { 'accept-ranges': 'bytes' }) };
  if (range.kind === 'unsatisfiable') {
    record.status = 416;
    record.ended = true;
    res.writeHead(416, { ...common, 'content-range': `bytes */${size}`, 'content-length': 0 });
    res.end();
    return;
  }
  const [start, end] = range.kind === 'range' ? [range.start, range.end] : [0, size];
  // Decided before the headers: an overlong body has no Content-Length. A HEAD sends no body to fault.
  const plan = req.method === 'HEAD' ? undefined : d.faults.dataPlan(f.file.name, start, end);
  record.status = range.kind === 'range' ? 206 : 200;
  res.writeHead(record.status, {
    ...common,
    // Without it, Node sends the body chunked.
    ...(plan?.overlong === undefined && { 'content-length': end - start }),
    ...(range.kind === 'range' && { 'content-range': `bytes ${start}-${end - 1}/${size}` }),
  });
  if (!plan) {
    res.end();
    record.ended = true;
    record.complete = true;
    return;
  }
  await pump(res, s, f, start, end, plan, record, d);
}

/** Resolves once everything written so far (headers included) was handed to the socket. */
function flushed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) resolve();
    else res.write(Buffer.alloc(0), () => resolve());
  });
}

function flipBytes(piece: Buffer, at: number, offsets: number[]): Buffer {
  const hit = offsets.filter((o) => o >= at && o < at + piece.length);
  if (hit.length === 0) return piece;
  // A copy: the piece may be a view of inline content, which must stay true for the next request.
  const copy = Buffer.from(piece);
  for (const o of hit) copy[o - at]! ^= 0xff;
  return copy;
}

/** Bytes past the end for an overlong fault: junk, written in pieces of one shared buffer. */
async function writeJunk(res: ServerResponse, bytes: number, signal: AbortSignal): Promise<void> {
  const junk = Buffer.alloc(Math.min(bytes, 65_536), 0x5a);
  for (let left = bytes; left > 0 && !signal.aborted; ) {
    const n = Math.min(left, junk.length);
    const waiting = write(res, junk.subarray(0, n));
    left -= n;
    if (waiting) await waiting;
  }
}

/**
 * Milliseconds to wait before sending `bytes` under the caps in force: the shared one (one timeline
 * for every response) and this response's own.
 */
function throttleDelay(bytes: number, shared: number | undefined, perConnection: number | undefined, d: DataDeps, ownThrottle: () => Throttle): number {
  const forAll = shared === undefined ? 0 : d.throttle.reserve(bytes, shared);
  const forThis = perConnection === undefined ? 0 : ownThrottle().reserve(bytes, perConnection);
  return Math.max(forAll, forThis);
}

/**
 * Streams [start, end) of the file through the faults in force: pieces are cut where a fault acts
 * (reset, stall, session threshold) and, under a bandwidth cap, kept small enough to flow evenly.
 */
async function pump(
  res: ServerResponse,
  s: DownloadSession,
  f: SessionFile,
  start: number,
  end: number,
  plan: DataPlan,
  record: DataRequestRecord,
  d: DataDeps,
): Promise<void> {
  const stop = new AbortController();
  const abort = (): void => {
    stop.abort();
    res.destroy();
  };
  s.transfers.add(abort);
  res.once('close', () => stop.abort());
  let at = start;
  let sent = 0;
  let stalled = false;
  // A per-connection cap's own timeline, made when such a cap is first in force.
  let own: Throttle | undefined;
  const ownThrottle = (): Throttle => (own ??= new Throttle());
  const source = openContent(f.file.source, start, end);
  try {
    outer: for await (const chunk of source) {
      const buf = chunk as Buffer;
      for (let off = 0; off < buf.length; ) {
        if (stop.signal.aborted) break outer;
        let n = buf.length - off;
        const shared = d.faults.sharedBandwidth();
        const each = d.faults.connectionBandwidth();
        const capped = shared !== undefined || each !== undefined;
        if (capped) n = Math.min(n, Throttle.pieceSize(Math.min(shared ?? Infinity, each ?? Infinity)));
        if (plan.reset) n = Math.min(n, plan.reset.afterBytes - sent);
        if (plan.stall && !stalled) n = Math.min(n, plan.stall.afterBytes - sent);
        const act = d.faults.sessionAction(s.id, s.bytesServed, n);
        if (act) n = act.allowed;
        if (capped && n > 0) await sleep(throttleDelay(n, shared, each, d, ownThrottle), undefined, { signal: stop.signal });
        if (n > 0) {
          const piece = flipBytes(buf.subarray(off, off + n), at, plan.corrupt);
          // The chunk's last piece returns it to the pool once the socket has written it.
          const waiting = write(res, piece, off + n === buf.length ? () => chunkPool.release(buf) : undefined);
          sent += n;
          record.bytesSent = sent;
          f.bytesTransferred += n;
          s.bytesServed += n;
          f.served.add(at, at + n);
          d.sessions.touch(s);
          off += n;
          at += n;
          if (waiting) await waiting;
        }
        if (act) {
          await flushed(res);
          if (act.action === 'expire') d.sessions.expire(s.id);
          else d.sessions.cancelByServer(s.id);
          break outer;
        }
        if (plan.reset && sent === plan.reset.afterBytes) {
          await flushed(res);
          if (plan.reset.rst) res.socket?.resetAndDestroy();
          else res.socket?.destroy();
          break outer;
        }
        if (plan.stall && !stalled && sent === plan.stall.afterBytes) {
          stalled = true;
          await sleep(plan.stall.ms, undefined, { signal: stop.signal });
        }
      }
    }
    if (!stop.signal.aborted && sent === end - start) {
      f.served.add(start, start);
      record.complete = true;
      if (plan.overlong !== undefined) await writeJunk(res, plan.overlong, stop.signal);
      if (stop.signal.aborted) res.destroy();
      else res.end();
    } else {
      res.destroy();
    }
  } catch {
    // An abort (client gone, session cut, simulator stopping) or a failed disk read: the
    // response is cut either way, and the client sees a short body.
    res.destroy();
  } finally {
    s.transfers.delete(abort);
    record.ended = true;
  }
}
