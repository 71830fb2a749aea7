import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { deleteKeysUnder, DownloadClient, type DownloadResult } from '../../src/orchestrator/index.ts';
import { removeTree } from './disk.ts';
import type { ProcSample } from './processes.ts';
import type { BenchItem } from './server.ts';
import { startBenchWorker, type BenchWorker, type WorkerStart } from './worker.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How the rig's workers start: as `startBenchWorker`, less what the rig decides (Redis, prefix, files). */
export interface RigOptions extends Omit<WorkerStart, 'redisUrl' | 'prefix' | 'root' | 'configFile'> {
  /** A fresh directory: the download root and, beside it, the worker's config file. */
  root: string;
}

export interface CldlRun {
  ms: number;
  bytes: number;
  /** The worker process's CPU time over the run (every thread), ms. */
  workerCpuMs: number;
  /** The worker's /proc sample after the run (VmHWM: its peak RSS since it started). */
  worker: ProcSample;
}

/**
 * cldl as a user runs it: `cldl worker` on a key prefix of its own, and the producer API
 * (`DownloadClient`) in this process. Every key lives under `{cldl-bench-<uuid>}`; `stop()` deletes them.
 */
export class CldlRig {
  readonly prefix: string;
  readonly worker: BenchWorker;
  readonly client: DownloadClient;
  readonly #redis: Redis;
  readonly #root: string;
  readonly #options: RigOptions;
  /** Workers beyond the first, on the same prefix and root (`addWorker`). */
  readonly #more: BenchWorker[] = [];
  #runs = 0;

  private constructor(worker: BenchWorker, redis: Redis, root: string, prefix: string, options: RigOptions) {
    this.prefix = prefix;
    this.worker = worker;
    this.#redis = redis;
    this.#root = root;
    this.#options = options;
    this.client = new DownloadClient({ redis, prefix, vcenters: ['default'], jobs: { attempts: 3, backoffMs: 1_000 } });
  }

  static async start(o: RigOptions): Promise<CldlRig> {
    const prefix = `{cldl-bench-${randomUUID()}}`;
    const root = path.join(o.root, 'downloads');
    await mkdir(root, { recursive: true });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    try {
      const worker = await startWorker(o, prefix, root, 'cldl-config.json', o.cpuProfile);
      return new CldlRig(worker, redis, root, prefix, o);
    } catch (err) {
      await deleteKeysUnder(redis, prefix).catch(() => undefined);
      redis.disconnect();
      throw err;
    }
  }

  /**
   * Enqueues one download per item, waits for all, checks every data file on disk, then deletes them.
   * Timed from the first enqueue to the last completion (a job completes once its files are
   * verified, durable and renamed into place).
   */
  async download(items: readonly BenchItem[]): Promise<CldlRun> {
    const dir = `run-${++this.#runs}`;
    const before = await this.worker.sample();
    const started = performance.now();
    const ids = await Promise.all(
      items.map((item, i) => this.client.enqueueDownload({ libraryItemId: item.id, destination: `${dir}/${i}`, overwrite: true })),
    );
    const results: DownloadResult[] = [];
    // One waiter at a time: a finished download resolves at once from its Redis state.
    for (const id of ids) results.push(await this.client.waitForDownload(id, { timeoutMs: 1_800_000 }));
    const ms = performance.now() - started;
    const after = await this.worker.sample();
    await Promise.all(items.map((item, i) => assertOnDisk(path.join(this.#root, dir, String(i)), item, results[i]!)));
    await removeTree(path.join(this.#root, dir));
    return { ms, bytes: items.reduce((sum, i) => sum + i.size, 0), workerCpuMs: after.cpuMs - before.cpuMs, worker: after };
  }

  /** Another `cldl worker` process on the same queue, Redis prefix and download root: a second machine. */
  async addWorker(): Promise<BenchWorker> {
    const n = this.#more.length + 2;
    const profile = this.#options.cpuProfile?.replace(/\.cpuprofile$/, `-${n}.cpuprofile`);
    const worker = await startWorker(this.#options, this.prefix, this.#root, `cldl-config-${n}.json`, profile);
    this.#more.push(worker);
    return worker;
  }

  async stop(): Promise<void> {
    await Promise.all([this.worker, ...this.#more].map((w) => w.stop())).finally(async () => {
      await this.client.close();
      await deleteKeysUnder(this.#redis, this.prefix);
      await this.#redis.quit();
    });
  }
}

function startWorker(o: RigOptions, prefix: string, root: string, configName: string, cpuProfile: string | undefined): Promise<BenchWorker> {
  return startBenchWorker({ ...o, redisUrl: REDIS_URL, prefix, root, configFile: path.join(o.root, configName), cpuProfile });
}

async function assertOnDisk(dir: string, item: BenchItem, result: DownloadResult): Promise<void> {
  const file = path.join(dir, item.file);
  const s = await stat(file);
  if (s.size !== item.size) throw new Error(`${file}: ${s.size} bytes on disk, expected ${item.size}`);
  const verified = result.files.find((f) => f.name === item.file)?.verified;
  if (item.verifiable && !verified) throw new Error(`${file}: cldl did not verify it against a checksum`);
}
