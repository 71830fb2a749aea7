import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { DownloadClient, DownloadWorker, MapVCenterRegistry, type DownloadClientOptions, type DownloadWorkerOptions } from '../../src/orchestrator/index.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { hashFile } from '../../src/transfer/index.ts';
import { VCenterClient, type VCenterOptions } from '../../src/vsphere/index.ts';
import { connectRedis, dropPrefix, REDIS_URL, testPrefix } from './redis.ts';
import type { WorkerProcessConfig } from './worker-process.ts';

export interface Harness {
  sim: Simulator;
  root: string;
  prefix: string;
  redis: Redis;
  vcenter: VCenterClient;
  worker: DownloadWorker;
  client: DownloadClient;
  logger: Logger;
  /** Another worker on the same queue (its own vCenter client and Redis connection). */
  addWorker(overrides?: Partial<DownloadWorkerOptions>): Promise<DownloadWorker>;
  /** sha256 of a file under the download root. */
  sha256(relative: string): Promise<string>;
  /** sha256 of the simulator's true bytes of an item's file. */
  expectedSha256(itemName: string, fileName: string): Promise<string>;
  /** Every file under a destination, sorted, relative to it. */
  listDir(relative: string): Promise<string[]>;
  /** The path of the part cldl keeps `fileName` in under a destination, once it exists. */
  partPath(relative: string, fileName: string): Promise<string | undefined>;
  /** What a worker in a process of its own needs to serve this harness's queue (see worker-process.ts). */
  processConfig(worker?: Partial<WorkerProcessConfig['worker']>): WorkerProcessConfig;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  simulator?: SimulatorOptions;
  vcenter?: Partial<VCenterOptions>;
  worker?: Partial<DownloadWorkerOptions>;
  /** Don't start a worker (a test starts its own, e.g. in a child process). */
  noWorker?: boolean;
  /** Job options the client enqueues with; tests default to quick retries. */
  jobs?: DownloadClientOptions['jobs'];
  /** Another Redis than the shared one (a test's own, to restart). */
  redisUrl?: string;
}

/** Fast settings for tests: same behaviour, shorter clocks. */
export function workerDefaults(): Omit<DownloadWorkerOptions, 'redis' | 'prefix' | 'downloadRoot' | 'vcenters' | 'logger'> {
  return {
    concurrency: 4,
    limits: { transfersPerProcess: 8, sessionsPerVCenter: 8 },
    job: {
      filesPerJob: 4,
      transfer: { attempts: 6, backoff: { baseMs: 50, maxMs: 500 }, highWaterMark: 1 << 20, segments: { connections: 4, minBytes: 64 * 1024 * 1024 } },
      prepare: { timeoutMs: 10_000, pollMs: 20, maxPollMs: 200 },
      sync: { timeoutMs: 10_000, pollMs: 50 },
      maxSessionRenewals: 3,
    },
    keepAlive: { intervalMs: 60_000, reportIntervalMs: 200, tickMs: 50, retry: { baseMs: 100, maxMs: 1000 } },
    lock: { durationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 10 },
    retentionSeconds: 3600,
    shutdownGraceMs: 5_000,
    orphanSweepIntervalMs: 60_000,
  };
}

export function testLogger(): Logger {
  return pino({ level: process.env.CLDL_TEST_LOG ?? 'silent' });
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = await startSimulator({ prepareDelayMs: 5, ...options.simulator });
  const ownRoot = options.worker?.downloadRoot === undefined;
  const root = options.worker?.downloadRoot ?? (await mkdtemp(path.join(tmpdir(), 'cldl-root-')));
  const prefix = testPrefix();
  const redis = connectRedis(options.redisUrl);
  const logger = testLogger();
  const clients: VCenterClient[] = [];
  const workers: DownloadWorker[] = [];
  const connections: Redis[] = [redis];
  const vcenterFor = () => {
    const c = new VCenterClient({
      url: sim.url,
      username: sim.credentials.username,
      password: sim.credentials.password,
      api: 'api',
      ...(sim.tls ? { tls: { ca: sim.tls.certPem } } : {}),
      timeouts: { bodyIdleMs: 5_000, headersMs: 5_000, requestMs: 10_000 },
      ...options.vcenter,
    });
    clients.push(c);
    return c;
  };
  const vcenter = vcenterFor();
  const addWorker = async (overrides: Partial<DownloadWorkerOptions> = {}) => {
    const own = workers.length === 0 ? redis : connectRedis(options.redisUrl);
    if (own !== redis) connections.push(own);
    const w = await DownloadWorker.start({
      ...workerDefaults(),
      ...options.worker,
      redis: own,
      prefix,
      downloadRoot: root,
      vcenters: new MapVCenterRegistry([workers.length === 0 ? vcenter : vcenterFor()]),
      logger,
      ...overrides,
    });
    workers.push(w);
    return w;
  };
  const worker = options.noWorker ? (undefined as unknown as DownloadWorker) : await addWorker();
  const client = new DownloadClient({ redis: connectRedis(options.redisUrl), prefix, vcenters: ['default'], jobs: { attempts: 3, backoffMs: 200, ...options.jobs } });
  return {
    sim,
    root,
    prefix,
    redis,
    vcenter,
    worker,
    client,
    logger,
    addWorker,
    sha256: (relative) => hashFile(path.join(root, relative), 'sha256'),
    expectedSha256: (itemName, fileName) => sim.fileChecksum(sim.item(itemName).id, fileName, 'SHA256'),
    listDir: async (relative) => (await readdir(path.join(root, relative)).catch(() => [] as string[])).sort(),
    partPath: (relative, fileName) => findPart(path.join(root, relative), fileName),
    processConfig: (worker = {}) => ({
      redisUrl: options.redisUrl ?? REDIS_URL,
      prefix,
      root,
      vcenter: { url: sim.url, ...sim.credentials, api: 'api' },
      worker: { ...workerDefaults(), ...worker },
    }),
    async stop() {
      await client.close();
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(clients.map((c) => c.close()));
      await dropPrefix(redis, prefix);
      for (const c of connections) await c.quit().catch(() => undefined);
      await sim.stop();
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

/** cldl's part of `fileName` in `dir` (`.NAME.DIGEST.cldl-part`), if there is one. */
export async function findPart(dir: string, fileName: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const part = names.find((n) => n.startsWith(`.${fileName}.`) && /^\.[^/]+\.[0-9a-f]{12}\.cldl-part$/.test(n) && n.length === fileName.length + 24);
  return part === undefined ? undefined : path.join(dir, part);
}
