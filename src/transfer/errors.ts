import { CldlError, type CldlErrorOptions } from '../cldl-error.ts';

/**
 * Errors of moving bytes to disk. `retryable` tells the retry loops whether the same transfer can
 * succeed later; `restart` (on TransferError) whether it must start the file over from byte 0.
 */
export class TransferError extends CldlError {
  readonly fileName: string | undefined;
  readonly restart: boolean;

  constructor(code: string, message: string, options: CldlErrorOptions & { fileName?: string; restart?: boolean } = {}) {
    super(code, message, options);
    this.fileName = options.fileName;
    this.restart = options.restart ?? false;
  }
}

/** The data endpoint answered with an HTTP error. 5xx, 408 and 429 are worth another try. */
export class HttpStatusError extends TransferError {
  readonly status: number;
  constructor(fileName: string, status: number, url: string) {
    super('CLDL_HTTP_STATUS', `GET of ${fileName} answered HTTP ${status} (${redactUrl(url)})`, {
      fileName,
      retryable: status >= 500 || status === 408 || status === 429,
    });
    this.status = status;
  }
}

/** 401 on a data URL: the API session expired under the transfer. Log in again and resume. */
export class DataUnauthorizedError extends TransferError {
  // Private, so that logging the error can never print the session token.
  readonly #sentHeaders: Record<string, string>;

  constructor(fileName: string, sentHeaders: Record<string, string>) {
    super('CLDL_DATA_UNAUTHORIZED', `GET of ${fileName} answered 401: the vCenter API session is no longer valid`, {
      fileName,
      retryable: true,
    });
    this.#sentHeaders = sentHeaders;
  }

  /** The headers that were refused, so the source can drop exactly that token. */
  get sentHeaders(): Record<string, string> {
    return this.#sentHeaders;
  }
}

/** No space left on the download volume: nothing a retry can fix until an operator frees space. */
export class DiskFullError extends TransferError {
  constructor(fileName: string, path: string, options: CldlErrorOptions = {}) {
    super('CLDL_DISK_FULL', `no space left on the device holding ${path} while writing ${fileName}; free space there and retry the download`, {
      ...options,
      fileName,
    });
  }
}

/** A path from a job or from the server that would land outside the download root. */
export class UnsafePathError extends CldlError {
  constructor(message: string) {
    super('CLDL_UNSAFE_PATH', message);
  }
}

/** The destination file exists and the request did not ask to overwrite it. */
export class DestinationExistsError extends CldlError {
  constructor(path: string) {
    super('CLDL_DESTINATION_EXISTS', `${path} already exists; remove it or enqueue the download with overwrite: true`);
  }
}

/** The bytes on disk do not hash to what the server (or the OVF manifest) says they should. */
export class ChecksumMismatchError extends TransferError {
  constructor(fileName: string, algorithm: string, expected: string, actual: string, source: string) {
    super('CLDL_CHECKSUM_MISMATCH', `${fileName}: ${algorithm} is ${actual}, but ${source} says ${expected}`, {
      fileName,
      retryable: true,
      restart: true,
    });
  }
}

/** Query strings of data URLs can carry tokens; messages keep only origin and path. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
