import type { JobsOptions } from 'bullmq';

/** What a producer decides about the jobs it queues. */
export interface JobPolicy {
  /** Tries, counting the first. */
  attempts: number;
  /** The first retry's delay; each next one doubles. */
  backoffMs: number;
  /** How long an ended job stays visible. */
  retentionSeconds: number;
}

/** How a cldl job (a download, a mirror run, a scheduled one) retries, then how long it stays visible. */
export function jobOptions(policy: JobPolicy): Pick<JobsOptions, 'attempts' | 'backoff' | 'removeOnComplete' | 'removeOnFail'> {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    removeOnComplete: { age: policy.retentionSeconds },
    removeOnFail: { age: policy.retentionSeconds },
  };
}
