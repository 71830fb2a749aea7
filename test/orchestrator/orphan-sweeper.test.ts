import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { keysFor, MapVCenterRegistry } from '../../src/orchestrator/index.ts';
import { OrphanSweeper } from '../../src/orchestrator/orphan-sweeper.ts';
import { DownloadStateStore } from '../../src/orchestrator/state.ts';
import { testLogger } from '../support/harness.ts';
import { testPrefix } from '../support/redis.ts';
import { startOwnRedis, type OwnRedis } from '../support/redis-server.ts';

let own: OwnRedis | undefined;
afterEach(async () => {
  await own?.stop();
  own = undefined;
});

describe('OrphanSweeper', () => {
  // An application embedding cldl must not crash because Redis went away between two sweeps.
  it('logs a sweep that fails on its interval instead of rejecting unhandled', async () => {
    own = await startOwnRedis();
    // A connection that gives up on a command at once, as an embedding application may configure it.
    const redis = new Redis(own.url, { maxRetriesPerRequest: 0, retryStrategy: () => 200 });
    redis.on('error', () => undefined);
    const keys = keysFor(testPrefix());
    const queue = new Queue(keys.queue, { connection: redis, prefix: keys.prefix });
    queue.on('error', () => undefined);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const warnings: string[] = [];
    const logger = testLogger();
    logger.warn = ((_obj: unknown, msg?: string) => void warnings.push(msg ?? ''));
    const sweeper = new OrphanSweeper({ store: new DownloadStateStore(redis, keys, 60), queue, vcenters: new MapVCenterRegistry([]), logger }, 100);
    try {
      await own.down();
      await sleep(700);
      expect(unhandled).toEqual([]);
      expect(warnings).toContain('orphan sweep failed');
    } finally {
      sweeper.close();
      process.off('unhandledRejection', onUnhandled);
      redis.disconnect();
    }
  });
});
