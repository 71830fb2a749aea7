import { Redis } from 'ioredis';
import type { CldlConfig } from '../config/load-config.ts';
import { describeRedis } from '../service/redis-connection.ts';
import { CliFailure } from './run-action.ts';

/**
 * A connection for a short command. The daemon's connections wait out outages; a person at a
 * terminal wants to hear within seconds that Redis is not there.
 */
export async function redisForCli(config: CldlConfig['redis']): Promise<Redis> {
  if (config.clusterNodes.length === 0) {
    const probe = new Redis(config.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
    } catch (err) {
      throw new CliFailure(`cannot reach Redis at ${describeRedis(config)} (${(err as Error).message}); is it running? Set REDIS_URL to point elsewhere.`);
    } finally {
      probe.disconnect();
    }
  }
  const redis = new Redis(config.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  return redis;
}
