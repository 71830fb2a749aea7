import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { expect } from 'vitest';
import { DownloadClient } from '../../src/orchestrator/index.ts';
import { hashFile } from '../../src/transfer/index.ts';
import { createRedisClient } from '../../src/service/redis-connection.ts';
import { startSimulator, type ItemSpec, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { startCliWorker, type CliWorker } from '../support/cli.ts';
import { connectRedis, dropPrefix, REDIS_URL, testPrefix } from '../support/redis.ts';

export const MB = 1024 * 1024;
export const GB = 1024 * MB;

/** The item every scenario downloads at its end to prove the worker still serves. */
const CANARY: ItemSpec = { name: 'canary.iso', files: [{ name: 'canary.iso', size: 3 * MB + 1 }] };

/**
 * Worker settings for chaos: production logic with shorter clocks, so that a dead worker's job
 * moves on in seconds and a scenario ends in a minute.
 */
const WORKER_CONFIG = {
  lock: { durationMs: 3000, stalledIntervalMs: 1000, maxStalledCount: 50 },
  worker: { shutdownGraceMs: 3000, orphanSweepIntervalMs: 600_000 },
  transfer: { attempts: 8, backoff: { baseMs: 200, maxMs: 2000 } },
  keepAlive: { reportIntervalMs: 500, retry: { baseMs: 200, maxMs: 2000 } },
  prepare: { pollMs: 50, maxPollMs: 500 },
  log: { level: 'info' },
};

export interface Chaos {
  sim: Simulator;
  root: string;
  prefix: string;
  redisUrl: string;
  /** The scenario's Redis: a Cluster client when `redisClusterNodes` was given. */
  redis: Redis | Cluster;
  client: DownloadClient;
  workers: CliWorker[];
  /** Starts a `cldl worker` process (the real product) on this scenario's queue. */
  startWorker(env?: Record<string, string>): Promise<CliWorker>;
  /** Queues `item` to `destination` (its name by default). */
  enqueue(item: string, destination?: string): Promise<string>;
  /** Every file of `item` under `destination` is byte-identical to the source, and nothing else is there. */
  expectIdentical(item: string, destination?: string): Promise<void>;
  /** Nothing under a final name, no `.part` left. */
  expectNothing(destination: string): Promise<void>;
  /** No download session left on the simulator, but `except` (ids expected to remain). */
  expectNoSessionLeft(except?: string[]): void;
  /** A fresh download through the surviving workers completes byte-identical. */
  expectStillServes(): Promise<void>;
  stop(): Promise<void>;
}

export interface ChaosOptions {
  items: ItemSpec[];
  simulator?: SimulatorOptions;
  redisUrl?: string;
  /**
   * A Redis Cluster's nodes (`host:port`): the workers get them as `redis.clusterNodes`, and the
   * test's client and connection are built as the daemon builds its own (`createRedisClient`).
   */
  redisClusterNodes?: string[];
  jobs?: { attempts?: number };
}

export async function startChaos(options: ChaosOptions): Promise<Chaos> {
  const sim = await startSimulator({ prepareDelayMs: 10, ...options.simulator, items: [...options.items, CANARY] });
  const root = await mkdtemp(path.join(tmpdir(), 'cldl-chaos-'));
  const prefix = testPrefix();
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const clusterNodes = options.redisClusterNodes ?? [];
  const connect = (): Redis | Cluster => {
    if (!clusterNodes.length) return connectRedis(redisUrl);
    const cluster = createRedisClient({ url: redisUrl, clusterNodes, prefix });
    cluster.on('error', () => undefined); // reconnects on its own (a test may kill a node)
    return cluster;
  };
  const redis = connect();
  const configFile = path.join(root, '..', `${path.basename(root)}.json`);
  await writeFile(configFile, JSON.stringify(clusterNodes.length ? { ...WORKER_CONFIG, redis: { clusterNodes } } : WORKER_CONFIG));
  const client = new DownloadClient({ redis: connect(), prefix, vcenters: ['default'], jobs: { attempts: options.jobs?.attempts ?? 10, backoffMs: 500 }, ownConnection: true });
  const workers: CliWorker[] = [];

  const chaos: Chaos = {
    sim,
    root,
    prefix,
    redisUrl,
    redis,
    client,
    workers,
    async startWorker(env = {}) {
      const w = await startCliWorker({
        REDIS_URL: redisUrl,
        CLDL_REDIS_PREFIX: prefix,
        CLDL_DOWNLOAD_ROOT: root,
        CLDL_CONFIG: configFile,
        VCENTER_URL: sim.url,
        VCENTER_USERNAME: sim.credentials.username,
        VCENTER_PASSWORD: sim.credentials.password,
        VCENTER_API: 'api',
        ...env,
      });
      workers.push(w);
      return w;
    },
    enqueue(item, destination = item) {
      return client.enqueueDownload({ libraryItemId: sim.item(item).id, destination, overwrite: true });
    },
    async expectIdentical(item, destination = item) {
      const spec = sim.item(item);
      const present = (await readdir(path.join(root, destination))).sort();
      expect(present).toEqual(spec.files.map((f) => f.name).sort());
      for (const f of spec.files) {
        expect(await hashFile(path.join(root, destination, f.name), 'sha256'), `${destination}/${f.name}`).toBe(await sim.fileChecksum(spec.id, f.name, 'SHA256'));
      }
    },
    async expectNothing(destination) {
      expect(await readdir(path.join(root, destination)).catch(() => [])).toEqual([]);
    },
    expectNoSessionLeft(except = []) {
      const live = sim.inspect().sessions.filter((s) => s.gone === null && !except.includes(s.id));
      expect(live.map((s) => `${s.id} ${s.state}`)).toEqual([]);
    },
    async expectStillServes() {
      const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      expect(alive.length, 'a worker still running').toBeGreaterThan(0);
      const id = await chaos.enqueue('canary.iso', `canary-${Date.now()}`);
      const result = await client.waitForDownload(id, { timeoutMs: 60_000 });
      expect(result.files[0]).toMatchObject({ name: 'canary.iso', verified: true });
    },
    async stop() {
      for (const w of workers) await w.stop('SIGKILL');
      await client.close();
      // A cluster of the test's own goes with its keys; the shared Redis keeps only what others wrote.
      if (!clusterNodes.length) await dropPrefix(redis as Redis, prefix).catch(() => undefined);
      await redis.quit().catch(() => undefined);
      await sim.stop();
      await rm(root, { recursive: true, force: true });
      await rm(configFile, { force: true });
    },
  };
  return chaos;
}

/** Resolves once `id` has at least `bytes` on disk (by its own progress reports). */
export async function untilBytes(client: DownloadClient, id: string, bytes: number, timeoutMs = 60_000): Promise<void> {
  await expect.poll(async () => (await client.getDownload(id))?.progress.bytesDone ?? 0, { timeout: timeoutMs, interval: 50 }).toBeGreaterThanOrEqual(bytes);
}

export function randomBetween(min: number, max: number): number {
  return Math.round(min + Math.random() * (max - min));
}
