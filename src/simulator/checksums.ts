import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { ChecksumJob, ChecksumJobSource, ChecksumReply } from './checksum-worker.ts';
import type { ContentSource } from './content.ts';
import { SimulatorStoppedError } from './errors.ts';

/** The algorithms File.ChecksumInfo can name. */
export type ChecksumAlgorithm = 'SHA1' | 'MD5' | 'SHA256' | 'SHA512';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['SHA1', 'MD5', 'SHA256', 'SHA512'];

export function isChecksumAlgorithm(value: string): value is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(value);
}

function nodeName(algorithm: ChecksumAlgorithm): string {
  return algorithm.toLowerCase();
}

/**
 * True checksums of item files, each computed once per algorithm and cached. Disk and generated
 * files are hashed in one worker thread, started lazily; inline and manifest content is small
 * enough to hash in place.
 */
export class Checksums {
  readonly #cache = new Map<string, Map<ChecksumAlgorithm, Promise<string>>>();
  readonly #known = new Map<string, string>();
  readonly #pending = new Map<number, { resolve(d: Record<string, string>): void; reject(e: Error): void }>();
  #worker: Worker | undefined;
  #nextJob = 1;
  #stopped = false;

  /** Starts computing the algorithms not yet cached; returns at once. */
  prefetch(key: string, source: ContentSource, algorithms: readonly ChecksumAlgorithm[]): void {
    const missing = [...new Set(algorithms)].filter((a) => !this.#cache.get(key)?.has(a));
    if (missing.length === 0) return;
    const all = this.#compute(source, missing);
    let perFile = this.#cache.get(key);
    if (!perFile) this.#cache.set(key, (perFile = new Map<ChecksumAlgorithm, Promise<string>>()));
    for (const algorithm of missing) {
      const one = all.then((d) => {
        const hex = d[nodeName(algorithm)]!;
        this.#known.set(`${key}\0${algorithm}`, hex);
        return hex;
      });
      // Background work may never be awaited (the simulator stops first): not an unhandled rejection.
      one.catch(() => undefined);
      perFile.set(algorithm, one);
    }
  }

  /** The lower-case hex checksum of the file's true bytes. */
  checksum(key: string, source: ContentSource, algorithm: ChecksumAlgorithm): Promise<string> {
    this.prefetch(key, source, [algorithm]);
    return this.#cache.get(key)!.get(algorithm)!;
  }

  /** The checksum if already computed: for listings that must not wait on a 20 GiB hash. */
  peek(key: string, algorithm: ChecksumAlgorithm): string | undefined {
    return this.#known.get(`${key}\0${algorithm}`);
  }

  async close(): Promise<void> {
    this.#stopped = true;
    for (const p of this.#pending.values()) p.reject(new SimulatorStoppedError());
    this.#pending.clear();
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }

  async #compute(source: ContentSource, algorithms: ChecksumAlgorithm[]): Promise<Record<string, string>> {
    if (this.#stopped) throw new SimulatorStoppedError();
    const names = algorithms.map(nodeName);
    if (source.kind === 'inline' || source.kind === 'manifest') {
      const bytes = source.kind === 'inline' ? source.bytes : await source.text();
      return Object.fromEntries(names.map((n) => [n, createHash(n).update(bytes).digest('hex')]));
    }
    const jobSource: ChecksumJobSource =
      source.kind === 'disk'
        ? { kind: 'disk', size: source.size, path: source.path }
        : { kind: 'generated', size: source.size, shift: source.seed.shift, tag: new Uint8Array(source.seed.tag) };
    const job: ChecksumJob = { id: this.#nextJob++, source: jobSource, algorithms: names };
    return new Promise((resolve, reject) => {
      this.#pending.set(job.id, { resolve, reject });
      this.#ensureWorker().postMessage(job);
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./checksum-worker.ts', import.meta.url));
    // The server keeps the process alive while it runs; an idle hasher must not.
    worker.unref();
    worker.on('message', (reply: ChecksumReply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if ('error' in reply) p.reject(new Error(`checksum failed: ${reply.error}`));
      else p.resolve(reply.digests);
    });
    worker.on('error', (err: Error) => {
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.#worker = undefined;
    });
    this.#worker = worker;
    return worker;
  }
}
