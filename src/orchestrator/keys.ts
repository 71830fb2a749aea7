import type { Redis } from 'ioredis';

/**
 * Every Redis key and channel cldl uses, derived from one prefix. The default prefix `{cldl}` is a
 * Redis Cluster hash tag: BullMQ's keys and ours land in one slot, so MULTI and BullMQ's Lua
 * scripts work on a cluster too.
 */
export interface Keys {
  prefix: string;
  queue: string;
  download(id: string): string;
  /** Sorted set of download ids by creation time, for listing. */
  downloads: string;
  /** Hash `vcenter/sessionId` -> download id: the sessions cldl created and has not cleaned up. */
  sessions: string;
  /** Pub/sub: a download id whose cancellation every worker must hear. */
  cancelChannel: string;
  /** The download writing a final path (by the path's digest): see file-holds.ts. */
  hold(pathDigest: string): string;
  /** One mirror run's record. */
  mirror(id: string): string;
  /** Sorted set of mirror run ids by creation time. */
  mirrors: string;
  /** The run writing a destination (by the destination's digest). */
  mirrorDestination(digest: string): string;
  /** A shared bandwidth budget (a vCenter's cap, a mirror run's). */
  budget(name: string): string;
}

export const QUEUE_NAME = 'downloads';

export function keysFor(prefix: string): Keys {
  return {
    prefix,
    queue: QUEUE_NAME,
    download: (id) => `${prefix}:download:${id}`,
    downloads: `${prefix}:download-ids`,
    sessions: `${prefix}:sessions`,
    cancelChannel: `${prefix}:cancel`,
    hold: (digest) => `${prefix}:hold:${digest}`,
    mirror: (id) => `${prefix}:mirror:${id}`,
    mirrors: `${prefix}:mirror-ids`,
    mirrorDestination: (digest) => `${prefix}:mirror-destination:${digest}`,
    budget: (name) => `${prefix}:budget:${name}`,
  };
}

/**
 * Deletes every key under `prefix`, and only those: a throwaway prefix's queue, state and session
 * index (the demo's, a test's, a bench run's). SCAN, so a large keyspace is never blocked.
 */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
