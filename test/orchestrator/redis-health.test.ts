import { afterEach, describe, expect, it } from 'vitest';
import { checkRedisSettings } from '../../src/orchestrator/redis-health.ts';
import { connectRedis } from '../support/redis.ts';
import { startOwnRedis, type OwnRedis } from '../support/redis-server.ts';

let own: OwnRedis | undefined;
afterEach(async () => {
  await own?.stop();
  own = undefined;
});

describe('checkRedisSettings', () => {
  it('is silent for a Redis with AOF and noeviction', async () => {
    own = await startOwnRedis();
    const redis = connectRedis(own.url);
    expect(await checkRedisSettings(redis)).toEqual([]);
    await redis.quit();
  });

  it('warns about eviction and missing persistence', async () => {
    own = await startOwnRedis();
    const redis = connectRedis(own.url);
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await redis.config('SET', 'appendonly', 'no');
    const warnings = await checkRedisSettings(redis);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/maxmemory-policy is allkeys-lru, not noeviction/);
    expect(warnings[1]).toMatch(/neither AOF nor RDB snapshots/);
    await redis.quit();
  });
});
