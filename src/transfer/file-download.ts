import { once } from 'node:events';
import { waitBackoff, type BackoffOptions } from '../backoff.ts';
import { CldlError } from '../cldl-error.ts';
import { asTlsVerificationError, type DataEndpoint } from '../vsphere/index.ts';
import type { DownloadPart } from './download-part.ts';
import { DataUnauthorizedError, DiskFullError, HttpStatusError, TransferError, redactUrl } from './errors.ts';
import type { HashingFileWriter } from './hashing-file-writer.ts';

export interface RetryEvent {
  fileName: string;
  attempt: number;
  /** A short, label-safe reason: `connection`, `http_5xx`, `unauthorized`, `range_ignored`… */
  reason: string;
  error: Error;
}

export interface FileDownloadOptions {
  /** For messages only. */
  fileName: string;
  /** When known (vCenter may omit it until the download), the transfer must end exactly here. */
  expectedSize?: number | undefined;
  /** Tries per call, counting the first. */
  attempts: number;
  backoff: BackoffOptions;
  /**
   * The writer's buffer. 512 KiB keeps the socket reading while the disk writes; larger batches
   * measured slower (4 MiB: 20-30% less throughput and more CPU per GB; likely because their bytes
   * have left the CPU cache by the time they are copied to the page cache and hashed).
   */
  highWaterMark?: number;
  signal?: AbortSignal | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

const DEFAULT_HWM = 512 << 10;

/**
 * Streams `source` into `part` until it holds the whole file, resuming with Range after each
 * transient failure: only a 206 whose Content-Range starts at our position is appended to; a 200
 * means the server ignored the Range, so the file starts over (the hashes with it, nothing is read
 * twice). A 401 re-authorises and resumes at once. Ends with the bytes durable on disk; verifying
 * and renaming them are the caller's.
 */
export async function downloadFile(part: DownloadPart, source: DataEndpoint, options: FileDownloadOptions): Promise<void> {
  const { fileName, signal } = options;
  // `attempts` bounds failures in a row without progress: a flaky link that moves the file
  // forward on every try is never given up on; one that makes no headway is.
  let failures = 0;
  let progressAt = part.position;
  for (;;) {
    // A file complete on disk (a worker died between the last byte and the rename) needs no GET.
    if (options.expectedSize !== undefined && part.position === options.expectedSize) break;
    try {
      await exchange(part, source, options);
      break;
    } catch (raw) {
      if (signal?.aborted) throw signal.reason;
      const err = classify(raw, fileName, part, source.url);
      if (part.position > progressAt) failures = 0;
      failures++;
      if (err instanceof DataUnauthorizedError) await source.unauthorized(err.sentHeaders);
      if (!err.retryable || failures >= options.attempts) {
        if (failures > 1 && err.retryable) {
          throw new TransferError(err.code, `${err.message} (gave up after ${failures} attempts without progress)`, { cause: err, retryable: true, fileName });
        }
        throw err;
      }
      if (err instanceof TransferError && err.restart) part.restart();
      progressAt = part.position;
      options.onRetry?.({ fileName, attempt: failures, reason: retryReason(err), error: err });
      // A fresh login needs no wait; anything else backs off.
      if (!(err instanceof DataUnauthorizedError)) await waitBackoff(failures, options.backoff, signal);
    }
  }
  await part.flush();
}

/** One GET: appends the answer's bytes to `part`. Resolves when the body ended and the file holds all of it. */
async function exchange(part: DownloadPart, source: DataEndpoint, options: FileDownloadOptions): Promise<void> {
  const url = new URL(source.url);
  const headers = await source.headers();
  const request: Record<string, string> = { ...headers };
  const from = part.position;
  if (from > 0) {
    request.range = `bytes=${from}-`;
    if (part.etag) request['if-range'] = part.etag;
  }
  let writer: HashingFileWriter | undefined;
  let total: number | undefined;
  try {
    await source.dispatcher.stream(
      { origin: url.origin, path: url.pathname + url.search, method: 'GET', headers: request, signal: options.signal },
      ({ statusCode, headers: h }) => {
        const answer = readAnswer(statusCode, h, from, options.fileName, source.url, headers);
        if (answer.restart) part.restart();
        total = answer.total;
        if (options.expectedSize !== undefined && total !== undefined && total !== options.expectedSize) {
          throw new TransferError(
            'CLDL_SIZE_MISMATCH',
            `${options.fileName}: the server sends ${total} bytes, but vCenter listed ${options.expectedSize}`,
            { fileName: options.fileName, retryable: true, restart: true },
          );
        }
        const etag = header(h, 'etag');
        if (etag && !etag.startsWith('W/')) part.etag = etag;
        // The size vCenter listed bounds the body even without a Content-Length (chunked).
        const size = options.expectedSize ?? total;
        writer = part.writer(options.highWaterMark ?? DEFAULT_HWM, size, () => tooLong(options.fileName, size));
        return writer;
      },
    );
  } finally {
    if (writer) {
      if (!writer.closed) await once(writer, 'close').catch(() => undefined);
      part.settle(writer);
    }
  }
  // Fewer bytes than the file holds: the connection ended early; what arrived is kept, the rest resumes.
  const end = total ?? options.expectedSize;
  if (end !== undefined && part.position < end) {
    throw new TransferError('CLDL_TRANSFER_SHORT', `${options.fileName}: the body ended after ${part.position} of ${end} bytes`, {
      fileName: options.fileName,
      retryable: true,
    });
  }
}

/** More bytes than the file holds: not a glitch to retry, a server sending something else. */
function tooLong(fileName: string, size: number | undefined): TransferError {
  return new TransferError('CLDL_SIZE_EXCEEDED', `${fileName}: the server sent more than the ${size} bytes the file holds; refusing the rest`, {
    fileName,
    retryable: false,
  });
}

interface Answer {
  restart: boolean;
  /** The file's full size, when the answer tells it. */
  total: number | undefined;
}

function readAnswer(
  status: number,
  h: Record<string, string | string[] | undefined>,
  from: number,
  fileName: string,
  url: string,
  sent: Record<string, string>,
): Answer {
  const length = header(h, 'content-length');
  if (status === 200) {
    // Either a fresh start, or a server that ignored our Range: both mean byte 0 comes next.
    return { restart: from > 0, total: length === undefined ? undefined : Number(length) };
  }
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(h, 'content-range') ?? '');
    if (!m || Number(m[1]) !== from) {
      throw new TransferError(
        'CLDL_RANGE_MISMATCH',
        `${fileName}: asked for bytes from ${from}, got Content-Range ${JSON.stringify(header(h, 'content-range') ?? null)}`,
        { fileName, retryable: true, restart: true },
      );
    }
    return { restart: false, total: m[3] === '*' ? Number(m[2]) + 1 : Number(m[3]) };
  }
  if (status === 401) throw new DataUnauthorizedError(fileName, sent);
  if (status === 416) {
    throw new TransferError('CLDL_RANGE_NOT_SATISFIABLE', `${fileName}: the server has no bytes from ${from} on`, {
      fileName,
      retryable: true,
      restart: true,
    });
  }
  throw new HttpStatusError(fileName, status, url);
}

// Network-level failures worth another try: sockets, timeouts, resets.
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

function classify(raw: unknown, fileName: string, part: DownloadPart, url: string): CldlError {
  if (raw instanceof CldlError) return raw;
  const code = (raw as { code?: unknown } | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new DiskFullError(fileName, part.path, { cause: raw });
  const tls = asTlsVerificationError(new URL(url).origin, raw);
  if (tls) return tls;
  const message = raw instanceof Error ? raw.message : String(raw);
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) {
    return new TransferError(
      'CLDL_TRANSFER_CONNECTION',
      `${fileName}: the transfer from ${redactUrl(url)} broke at byte ${part.position}: ${message} (${code})`,
      { cause: raw, fileName, retryable: true },
    );
  }
  return new TransferError('CLDL_FILE_IO', `${fileName}: ${message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: raw, fileName });
}

function retryReason(err: CldlError): string {
  if (err instanceof DataUnauthorizedError) return 'unauthorized';
  if (err instanceof HttpStatusError) return `http_${Math.floor(err.status / 100)}xx`;
  switch (err.code) {
    case 'CLDL_TRANSFER_CONNECTION':
      return 'connection';
    case 'CLDL_RANGE_MISMATCH':
    case 'CLDL_RANGE_NOT_SATISFIABLE':
      return 'range';
    case 'CLDL_TRANSFER_SHORT':
      return 'short_body';
    case 'CLDL_SIZE_MISMATCH':
      return 'size';
    default:
      return 'other';
  }
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
