import type { Cluster, Redis } from 'ioredis';

/**
 * What cldl needs from Redis and a running server may lack: `noeviction` (an evicted lock or
 * state hash loses a download) and persistence (a restart must not forget every job). Returns
 * warnings for the log; managed Redis services that forbid CONFIG are not an error.
 */
export async function checkRedisSettings(redis: Redis | Cluster): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy !== 'noeviction') {
      warnings.push(`Redis maxmemory-policy is ${policy}, not noeviction: Redis may evict BullMQ locks and download state under memory pressure`);
    }
  } catch {
    warnings.push('could not read Redis maxmemory-policy (CONFIG GET refused); make sure it is noeviction');
  }
  try {
    const info = await redis.info('persistence');
    const aof = /aof_enabled:(\d)/.exec(info)?.[1] === '1';
    const [, save] = (await redis.config('GET', 'save').catch(() => ['save', 'unknown'])) as [string, string];
    if (!aof && (save === '' || save === undefined)) {
      warnings.push('Redis has neither AOF nor RDB snapshots: a Redis restart loses every queued and running download');
    }
  } catch {
    // INFO refused: nothing to say
  }
  return warnings;
}
