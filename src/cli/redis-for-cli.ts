import { Redis, type Cluster } from 'ioredis';
import type { CldlConfig } from '../config/load-config.ts';
import { createRedisClient, describeRedis } from '../service/redis-connection.ts';
import { CliFailure } from './run-action.ts';

/**
 * A connection for a short command, to the same Redis (or Cluster) the daemon uses. The daemon's
 * connections wait out outages; a person at a terminal wants to hear within seconds that Redis is
 * not there.
 */
export async function redisForCli(config: CldlConfig['redis']): Promise<Redis | Cluster> {
  // A Cluster client would retry its seed nodes forever: probe them one by one, as single servers.
  const targets = config.clusterNodes.length ? config.clusterNodes.map((n) => `redis://${n}`) : [config.url];
  let lastError: Error | undefined;
  for (const url of targets) {
    lastError = await probeRedis(url);
    if (!lastError) break;
  }
  if (lastError) throw new CliFailure(`cannot reach Redis at ${describeRedis(config)} (${lastError.message}); is it running? Set REDIS_URL to point elsewhere.`);
  const redis = createRedisClient(config);
  redis.on('error', () => undefined);
  return redis;
}

/** Undefined when `url` answers a PING within `timeoutMs` or so; else why not. One try, no reconnects. */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<Error | undefined> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    return err as Error;
  } finally {
    redis.disconnect();
  }
}
