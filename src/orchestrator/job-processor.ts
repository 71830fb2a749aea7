import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { CldlError } from '../cldl-error.ts';
import { DownloadJob, type DownloadJobDeps } from './download-job.ts';
import type { DownloadRequest } from './download-request.ts';
import { DestinationBusyError, DownloadCanceledError, LockLostError, SessionLostError, ShutdownError } from './errors.ts';
import type { DownloadResult } from './state.ts';

export interface DownloadJobData {
  request: DownloadRequest;
}

export interface ProcessorDeps extends DownloadJobDeps {
  /** The jobs running in this process, for cancellation, shutdown and the lock watchdog. */
  running: Map<string, DownloadJob>;
  /** True from the moment the worker begins to shut down. */
  isClosing(): boolean;
}

export type DownloadProcessor = (job: Job<DownloadJobData, DownloadResult>, token?: string, signal?: AbortSignal) => Promise<DownloadResult>;

/**
 * The BullMQ processor. It runs a DownloadJob and is the one place that decides what an outcome
 * means for the vCenter session, the `.part` files, the Redis state and the BullMQ job:
 *
 * | outcome | session | .part | state | BullMQ |
 * |---|---|---|---|---|
 * | success | deleted | renamed | completed | completed |
 * | canceled | cancel() | removed | canceled | failed, never retried |
 * | permanent error, or the last attempt | fail(message) | removed | failed | failed (UnrecoverableError) |
 * | transient error, attempts left | kept ACTIVE | kept | queued | retried with backoff |
 * | shutdown | kept ACTIVE | kept | queued | back to wait, no attempt spent |
 * | another download writes its files | kept ACTIVE | kept | queued | delayed, no attempt spent |
 * | lock lost | untouched | untouched | untouched | the new owner decides |
 *
 * "canceled" includes a session an admin canceled on vCenter; cancel() is followed by delete().
 */
export function createDownloadProcessor(deps: ProcessorDeps): DownloadProcessor {
  return async (job, token, signal) => {
    const run = new DownloadJob(job, deps, signal ?? new AbortController().signal);
    const id = run.key;
    deps.running.set(id, run);
    const started = Date.now();
    try {
      if (deps.isClosing()) throw new ShutdownError();
      const result = await run.run();
      await deps.store.finish(id, 'completed', { ...run.outcomeFields(true), result: JSON.stringify(result), lastError: undefined }, run.deletedSession);
      run.logger.info({ bytes: result.totalBytes, durationMs: result.durationMs }, 'download completed');
      deps.events.emit('finished', { outcome: 'completed', durationMs: Date.now() - started });
      return result;
    } catch (thrown) {
      // The reason the job was aborted (cancel, shutdown, lost lock) explains the failure better than
      // the AbortError a stream threw because of it.
      const err: unknown = run.signal.aborted ? run.signal.reason : thrown;
      return await settle(run, job, token, err, deps, started);
    } finally {
      if (deps.running.get(id) === run) deps.running.delete(id);
    }
  };
}

async function settle(
  run: DownloadJob,
  job: Job<DownloadJobData, DownloadResult>,
  token: string | undefined,
  err: unknown,
  deps: ProcessorDeps,
  started: number,
): Promise<never> {
  const id = run.key;
  const log = run.logger;
  const durationMs = () => Date.now() - started;

  if (err instanceof LockLostError) {
    await run.closeParts();
    log.warn({ err }, 'lost the job lock; leaving the download to its new owner');
    throw err;
  }

  if (err instanceof ShutdownError) {
    await run.closeParts();
    await deps.store.setState(id, 'queued', { ...run.outcomeFields(false), lastError: 'requeued: a worker shut down during the download', worker: undefined });
    if (token) await job.moveToWait(token);
    log.info('requeued for another worker; the download session stays active');
    deps.events.emit('finished', { outcome: 'requeued', durationMs: durationMs() });
    throw new WaitingError();
  }

  if (err instanceof DestinationBusyError) {
    await run.closeParts();
    await deps.store.setState(id, 'queued', { ...run.outcomeFields(false), lastError: err.message, worker: undefined });
    if (token) await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, token);
    log.info({ path: err.path, holder: err.holder }, 'waiting for another download to finish writing the same file');
    deps.events.emit('finished', { outcome: 'requeued', durationMs: durationMs() });
    throw new DelayedError();
  }

  const lease = run.lease;

  // An admin who cancels the session on vCenter cancels the download: it ends canceled, not failed.
  if (err instanceof DownloadCanceledError || (err instanceof SessionLostError && err.state === 'CANCELED')) {
    await lease?.cancel();
    await run.discardParts();
    await deps.store.finish(id, 'canceled', { ...run.outcomeFields(false), lastError: err.message });
    log.info('download canceled');
    deps.events.emit('finished', { outcome: 'canceled', durationMs: durationMs() });
    throw new UnrecoverableError(`canceled: ${err.message}`);
  }

  const message = describe(err);
  const retryable = isRetryable(err);
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

  if (!retryable || lastAttempt) {
    const request = run.request;
    const what = request ? `library item ${request.libraryItemId} to ${request.destination}` : 'a library item';
    // A session that vCenter already ended, or that is gone, cannot be failed; any other gets a message for the admin.
    await lease?.fail(`cldl could not download ${what}: ${message}`, err instanceof SessionLostError);
    await run.discardParts();
    await deps.store.finish(id, 'failed', { ...run.outcomeFields(false), lastError: message });
    log.error({ err, attempts: job.attemptsMade + 1 }, 'download failed');
    deps.events.emit('finished', { outcome: 'failed', durationMs: durationMs() });
    throw new UnrecoverableError(message);
  }

  await run.closeParts();
  await deps.store.setState(id, 'queued', { ...run.outcomeFields(false), lastError: message, worker: undefined });
  log.warn({ err, attempt: job.attemptsMade + 1 }, 'download attempt failed; BullMQ retries it');
  deps.events.emit('retry', { reason: 'job' });
  deps.events.emit('finished', { outcome: 'retrying', durationMs: durationMs() });
  throw err;
}

/** How long a download whose files another download is writing waits before it looks again. */
const BUSY_RETRY_MS = 5_000;

// Network trouble that escaped the layers' own mapping (a Redis reconnect, say): worth another attempt.
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Whether another attempt can succeed. cldl's errors say so themselves. Of the rest, connection
 * trouble and Redis errors (ioredis raises plain Errors) are transient; a programming or data error
 * (TypeError, RangeError…) would only fail again the same way, five times, so it fails at once.
 */
function isRetryable(err: unknown): boolean {
  if (err instanceof CldlError) return err.retryable;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return TRANSIENT_CODES.has(code);
  return !(err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
