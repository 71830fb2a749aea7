import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysUnder } from '../../src/orchestrator/index.ts';

/** The shared Redis the tests use; never flushed: every test keeps to its own prefix. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh hash-tagged prefix per test, like BullMQ's own tests name each queue. */
export function testPrefix(): string {
  return `{cldl-test-${randomUUID().slice(0, 12)}}`;
}

export function connectRedis(url = REDIS_URL): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on('error', () => undefined); // reconnects on its own (a test may restart its Redis)
  return redis;
}

/** Deletes every key under `prefix` (and only those). */
export const dropPrefix = deleteKeysUnder;
