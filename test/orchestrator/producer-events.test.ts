// DownloadClient runs inside other people's applications: a promise it forgets to catch is an
// unhandled rejection there, and Node's default for those is to exit. A regression looks like
// "Unhandled Rejection: SyntaxError: Unexpected token" from the 'failed' event handler.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadClient, keysFor } from '../../src/orchestrator/index.ts';
import { connectRedis, dropPrefix, REDIS_URL, testPrefix } from '../support/redis.ts';

let prefix: string;
let client: DownloadClient;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeEach(() => {
  prefix = testPrefix();
  client = new DownloadClient({ redis: REDIS_URL, prefix });
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  await client.close();
  const redis = connectRedis();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe("DownloadClient's events", () => {
  it('survive a record that cannot be read when a job fails', async () => {
    const redis = connectRedis();
    const keys = keysFor(prefix);
    const events = `${prefix}:${keys.queue}:events`;
    const failed: string[] = [];
    client.on('failed', (id) => failed.push(id));
    await redis.hset(keys.download('good'), { id: 'good', state: 'failed', request: '{}', lastError: 'boom' });
    await redis.hset(keys.download('good-2'), { id: 'good-2', state: 'failed', request: '{}', lastError: 'boom' });
    // Written by hand or by another version: reading it throws.
    await redis.hset(keys.download('broken'), { id: 'broken', state: 'failed', request: '{not json' });

    // QueueEvents reads from "now" once it blocks: repeat until one event gets through.
    await expect
      .poll(async () => {
        await redis.xadd(events, '*', 'event', 'failed', 'jobId', 'good', 'failedReason', 'boom');
        return failed.includes('good');
      })
      .toBe(true);
    await redis.xadd(events, '*', 'event', 'failed', 'jobId', 'broken', 'failedReason', 'boom');
    await redis.xadd(events, '*', 'event', 'failed', 'jobId', 'good-2', 'failedReason', 'boom');
    // Handled in order on one connection: once good-2 is out, broken's read has settled.
    await expect.poll(() => failed.includes('good-2')).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect(failed).not.toContain('broken');
    await redis.quit();
  });
});
