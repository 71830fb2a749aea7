import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Random bytes and their digests, to serve and to compare against what lands on disk. */
export function testBytes(size: number): { data: Buffer; sha1: string; sha256: string } {
  const data = randomBytes(size);
  return { data, sha1: createHash('sha1').update(data).digest('hex'), sha256: createHash('sha256').update(data).digest('hex') };
}

export interface ServeOptions {
  ignoreRange?: boolean;
  /** Destroy the socket after writing this many body bytes. */
  resetAfter?: number;
}

/**
 * Answers a GET for `data` the way an HTTP/1.1 file server does: 200 with Content-Length, or 206
 * with Content-Range for `Range: bytes=N-` and `bytes=N-M`, 416 beyond the end. Writes in 64 KiB pieces so a reset
 * can land mid-body.
 */
export function serveBytes(req: IncomingMessage, res: ServerResponse, data: Buffer, options: ServeOptions = {}): void {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  let start = 0;
  let end = data.length - 1;
  if (m && !options.ignoreRange) {
    start = Number(m[1]);
    if (m[2]) end = Math.min(end, Number(m[2]));
    if (start >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      return;
    }
    res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${data.length}` });
  } else {
    res.writeHead(200, { 'content-length': data.length });
  }
  const body = data.subarray(start, end + 1);
  const limit = options.resetAfter ?? Infinity;
  let sent = 0;
  const pump = () => {
    while (sent < body.length) {
      if (sent >= limit) {
        res.socket?.destroy();
        return;
      }
      const piece = body.subarray(sent, Math.min(body.length, sent + 65536, sent + (limit - sent)));
      sent += piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}
