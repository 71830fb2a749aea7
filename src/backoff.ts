import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  /** Delay before the first retry. */
  baseMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries from
 * many workers spread out but none retries immediately.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Waits out the backoff for `attempt` (1-based); rejects with the signal's reason on abort. */
export function waitBackoff(attempt: number, options: BackoffOptions, signal?: AbortSignal): Promise<void> {
  return sleep(backoffDelay(attempt, options), undefined, signal ? { signal } : undefined);
}
