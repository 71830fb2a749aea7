import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { deleteKeysUnder, DownloadClient, type DownloadResult } from '../../src/orchestrator/index.ts';
import type { ProcSample } from './processes.ts';
import type { BenchSimulator } from './simulator.ts';
import { startBenchWorker, type BenchWorker } from './worker.ts';
import type { WorkerSettings } from './worker-settings.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RigOptions {
  sim: BenchSimulator;
  root: string;
  settings: WorkerSettings;
  cpuProfile?: string | undefined;
  /** Extra environment for the worker process. */
  env?: Record<string, string> | undefined;
  /** Node flags for the worker; production's unless given. */
  nodeFlags?: readonly string[] | undefined;
}

export interface CldlRun {
  ms: number;
  bytes: number;
  /** The worker process's CPU time over the run, ms. */
  workerCpuMs: number;
  /** The worker's /proc sample after the run (VmHWM: its peak RSS since it started). */
  worker: ProcSample;
}

type Item = BenchSimulator['items'][number];

/**
 * cldl as a user runs it: a worker process on its own key prefix, and the producer API in this
 * process. Every key lives under `{cldl-bench-<uuid>}` and is deleted by `stop()`.
 */
export class CldlRig {
  readonly prefix: string;
  readonly worker: BenchWorker;
  readonly client: DownloadClient;
  readonly #redis: Redis;
  readonly #root: string;
  #runs = 0;

  private constructor(worker: BenchWorker, redis: Redis, root: string, prefix: string) {
    this.prefix = prefix;
    this.worker = worker;
    this.#redis = redis;
    this.#root = root;
    this.client = new DownloadClient({ redis, prefix, vcenters: ['default'], jobs: { attempts: 3, backoffMs: 1_000 } });
  }

  static async start(o: RigOptions): Promise<CldlRig> {
    const prefix = `{cldl-bench-${randomUUID()}}`;
    await mkdir(o.root, { recursive: true });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    const worker = await startBenchWorker({ sim: o.sim, redisUrl: REDIS_URL, prefix, root: o.root, settings: o.settings, cpuProfile: o.cpuProfile, env: o.env, nodeFlags: o.nodeFlags });
    return new CldlRig(worker, redis, o.root, prefix);
  }

  /**
   * Enqueues one download per item, waits for all, and checks every file on disk. Timed from the
   * first enqueue to the last completion. Returns the destination directory for the caller to delete.
   */
  async download(items: readonly Item[]): Promise<CldlRun & { dir: string }> {
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
    await Promise.all(items.map((item, i) => assertOnDisk(path.join(this.#root, dir, String(i), item.file), item.size, results[i]!)));
    return {
      ms,
      bytes: items.reduce((sum, i) => sum + i.size, 0),
      workerCpuMs: after.cpuMs - before.cpuMs,
      worker: after,
      dir: path.join(this.#root, dir),
    };
  }

  async stop(): Promise<void> {
    await this.worker.stop().finally(async () => {
      await this.client.close();
      await deleteKeysUnder(this.#redis, this.prefix);
      await this.#redis.quit();
    });
  }
}

async function assertOnDisk(file: string, size: number, result: DownloadResult): Promise<void> {
  const s = await stat(file);
  if (s.size !== size) throw new Error(`${file}: ${s.size} bytes on disk, expected ${size}`);
  if (!result.files.every((f) => f.verified)) throw new Error(`${file}: cldl did not verify it against a checksum`);
}
