import { CldlError, type CldlErrorOptions } from '../cldl-error.ts';
import type { DownloadSessionInfo, DownloadSessionState } from '../vsphere/index.ts';

/** A download request that cannot be run as given; `field` names the culprit. */
export class InvalidRequestError extends CldlError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('CLDL_INVALID_REQUEST', `invalid download request: ${field}: ${message}`);
    this.field = field;
  }
}

/** The download was canceled (by `cancelDownload`, or by an admin on vCenter). Never retried. */
export class DownloadCanceledError extends CldlError {
  constructor(message = 'the download was canceled', options: CldlErrorOptions = {}) {
    super('CLDL_CANCELED', message, options);
  }
}

/**
 * The download session is gone: expired, deleted, or ended on vCenter. `renewable` says whether a
 * fresh session may continue the job (expired or vanished), or it must stop (CANCELED/ERROR there).
 */
export class SessionLostError extends CldlError {
  readonly sessionId: string;
  readonly renewable: boolean;
  /** The state vCenter reports, when the session still exists (CANCELED or ERROR). */
  readonly state: DownloadSessionState | undefined;
  constructor(sessionId: string, renewable: boolean, message: string, options: CldlErrorOptions & { state?: DownloadSessionState } = {}) {
    super(renewable ? 'CLDL_SESSION_EXPIRED' : 'CLDL_SESSION_ENDED', message, { retryable: renewable, ...options });
    this.sessionId = sessionId;
    this.renewable = renewable;
    this.state = options.state;
  }

  /** The session no longer exists on vCenter: a fresh one may continue the download. */
  static gone(sessionId: string, cause?: unknown): SessionLostError {
    return new SessionLostError(sessionId, true, `download session ${sessionId} no longer exists on vCenter (expired or deleted)`, { cause });
  }

  /** vCenter reports the session in a state other than ACTIVE (CANCELED or ERROR there): stop. */
  static ended(info: DownloadSessionInfo, cause?: unknown): SessionLostError {
    const why = info.errorMessage ? `: ${info.errorMessage}` : '';
    return new SessionLostError(info.id, false, `vCenter reports download session ${info.id} as ${info.state}${why}`, { cause, state: info.state });
  }
}

/** The worker is shutting down: the job goes back to the queue, its session stays ACTIVE. */
export class ShutdownError extends CldlError {
  constructor() {
    super('CLDL_SHUTDOWN', 'the worker is shutting down; the download continues on another worker', { retryable: true });
  }
}

/** This worker lost the job's BullMQ lock: another worker may own it now, so touch nothing. */
export class LockLostError extends CldlError {
  constructor(jobId: string) {
    super('CLDL_LOCK_LOST', `lost the lock on download ${jobId}; another worker continues it`, { retryable: true });
  }
}

/** A subscribed item that did not become cached in time. */
export class SyncTimeoutError extends CldlError {
  constructor(itemId: string, seconds: number) {
    super('CLDL_SYNC_TIMEOUT', `library item ${itemId} is still not cached ${seconds} s after asking vCenter to synchronise it`, {
      retryable: true,
    });
  }
}

/** `waitForDownload` on a download that ended in failure or cancellation. */
export class DownloadFailedError extends CldlError {
  readonly downloadId: string;
  readonly state: 'failed' | 'canceled';
  constructor(downloadId: string, state: 'failed' | 'canceled', reason: string) {
    super(state === 'canceled' ? 'CLDL_CANCELED' : 'CLDL_DOWNLOAD_FAILED', `download ${downloadId} ${state}: ${reason}`);
    this.downloadId = downloadId;
    this.state = state;
  }
}

/** The download root cannot be used: every destination lives under it. */
export class DownloadRootError extends CldlError {
  readonly root: string;
  constructor(root: string, why: string, cause?: unknown) {
    super('CLDL_DOWNLOAD_ROOT', `the download root ${root} cannot be used: ${why}`, { cause });
    this.root = root;
  }
}

/**
 * A final path this download will write is being written by another running download. Not a
 * failure: the download waits (without spending an attempt) until the other one lets go.
 */
export class DestinationBusyError extends CldlError {
  readonly path: string;
  readonly holder: string;
  constructor(path: string, holder: string) {
    super('CLDL_DESTINATION_BUSY', `${path} is being written by download ${holder}; waiting for it to finish`, { retryable: true });
    this.path = path;
    this.holder = holder;
  }
}

/** vCenter no longer knows a file in the download session (the item changed, or the server is odd). */
export class FileNotInSessionError extends CldlError {
  readonly fileName: string;
  constructor(fileName: string, sessionId: string, serverMessage: string, cause?: unknown) {
    super('CLDL_FILE_NOT_IN_SESSION', `vCenter no longer knows ${fileName} in download session ${sessionId}: ${serverMessage}`, { cause });
    this.fileName = fileName;
  }
}
