import { waitBackoff, type BackoffOptions } from '../backoff.ts';
import { isCldlError } from '../cldl-error.ts';

export interface RetryOptions extends BackoffOptions {
  /** Tries, counting the first. */
  attempts: number;
}

/**
 * Runs `call` again after a retryable failure (a 503, a reset connection), with backoff. Safe for
 * every Content Library call cldl makes: reads, keep-alive, prepare, cancel, fail and delete are
 * idempotent, and create is made so by its client token.
 */
export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions, signal?: AbortSignal, onRetry?: (err: Error) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= options.attempts || signal?.aborted || !isCldlError(err) || !err.retryable) throw err;
      onRetry?.(err);
      await waitBackoff(attempt, options, signal);
    }
  }
}
