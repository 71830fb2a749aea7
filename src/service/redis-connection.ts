import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CldlConfig } from '../config/load-config.ts';

/**
 * A client for the configured Redis: a Cluster client when cluster nodes are configured, else one
 * server. `maxRetriesPerRequest: null` is what BullMQ's workers require: commands wait out a
 * reconnect instead of failing. The caller must listen for 'error'.
 */
export function createRedisClient(config: CldlConfig['redis']): Redis | Cluster {
  const options = { maxRetriesPerRequest: null, connectionName: 'cldl' };
  return config.clusterNodes.length
    ? new Cluster(
        config.clusterNodes.map((n) => ({ host: n.slice(0, n.lastIndexOf(':')), port: Number(n.slice(n.lastIndexOf(':') + 1)) })),
        { redisOptions: options },
      )
    : new Redis(config.url, options);
}

/**
 * The daemon's Redis connection. Connection errors are logged at most every 10 s: ioredis reports
 * every failed reconnect attempt, and one line says it all.
 */
export function connectRedis(config: CldlConfig['redis'], logger: Logger): Redis | Cluster {
  const redis = createRedisClient(config);
  let lastLogged = 0;
  redis.on('error', (err: Error) => {
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    logger.warn({ err, redis: describeRedis(config) }, 'Redis connection error; reconnecting');
  });
  return redis;
}

/** Where Redis is, for messages: the URL without its password. */
export function describeRedis(config: CldlConfig['redis']): string {
  if (config.clusterNodes.length) return `cluster ${config.clusterNodes.join(',')}`;
  try {
    const u = new URL(config.url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
