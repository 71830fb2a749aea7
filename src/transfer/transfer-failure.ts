import { CldlError } from '../cldl-error.ts';
import { asTlsVerificationError } from '../vsphere/index.ts';
import type { DownloadPart } from './download-part.ts';
import { DataUnauthorizedError, DiskFullError, HttpStatusError, TransferError, redactUrl } from './errors.ts';

// Whatever a transfer throws becomes a CldlError that says whether another try can help: a broken
// socket resumes, a full disk or a file-system error does not; and each retry gets a short,
// label-safe reason for the metrics.

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

/** The error a failed transfer means: socket failures are transient, the rest is not retried. */
export function classifyFailure(raw: unknown, fileName: string, part: DownloadPart, url: string): CldlError {
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

/** A short, label-safe reason for a retry (`cldl_retries_total`). */
export function retryReason(err: CldlError): string {
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
