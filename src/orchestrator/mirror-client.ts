import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { InvalidRequestError } from './errors.ts';
import { jobOptions, type JobPolicy } from './job-options.ts';
import { parseMirrorRequest } from './mirror-request.ts';
import type { MirrorStatus, MirrorStore } from './mirror-store.ts';
import type { DownloadStateStore } from './state.ts';

/** `attempts`: tries per run (a run that fails transiently while listing is tried again). */
export interface MirrorClientOptions extends JobPolicy {
  vcenters?: readonly string[] | undefined;
}

/**
 * The producer side of mirroring, behind `DownloadClient.mirrorLibrary` and friends: validate,
 * take the destination (or join the run that has it), queue the run, and read its progress.
 */
export class MirrorClient {
  readonly #queue: Queue;
  readonly #store: MirrorStore;
  readonly #downloads: DownloadStateStore;
  readonly #options: MirrorClientOptions;

  constructor(queue: Queue, store: MirrorStore, downloads: DownloadStateStore, options: MirrorClientOptions) {
    this.#queue = queue;
    this.#store = store;
    this.#downloads = downloads;
    this.#options = options;
  }

  /**
   * Queues a run; returns its id. A run of the same library into the same destination that has
   * not finished is joined (its id comes back); one of another library there is refused.
   */
  async mirror(request: unknown): Promise<{ id: string; joined: boolean }> {
    const parsed = parseMirrorRequest(request, { vcenters: this.#options.vcenters });
    const id = `mirror-${randomUUID()}`;
    const begun = await this.#store.begin(id, parsed);
    if (begun.holder !== id) {
      const other = begun.holderRequest;
      if (other && other.library === parsed.library && other.vcenter === parsed.vcenter) return { id: begun.holder, joined: true };
      throw new InvalidRequestError(
        'destination',
        `${parsed.destination} is being mirrored by run ${begun.holder}${other ? ` (library ${other.library} on ${other.vcenter})` : ''}; one run writes a tree at a time`,
      );
    }
    await this.#queue.add('mirror', { request: parsed, step: 'plan' }, { jobId: id, ...jobOptions(this.#options) });
    return { id, joined: false };
  }

  /** The run's record, with the bytes of its downloads summed. */
  async get(id: string): Promise<MirrorStatus | undefined> {
    const status = await this.#store.get(id);
    if (!status) return undefined;
    for (const item of status.items) {
      if (!item.downloadId) continue;
      const d = await this.#downloads.get(item.downloadId);
      if (!d) continue;
      status.progress.bytesDone += d.progress.bytesDone;
      status.progress.bytesTotal += d.progress.bytesTotal;
    }
    return status;
  }

  /** The newest runs; those still going with their downloads' bytes summed, as `get` gives them. */
  async list(limit?: number): Promise<MirrorStatus[]> {
    const runs = await this.#store.list(limit);
    return Promise.all(runs.map(async (r) => (this.#store.isTerminal(r.state) ? r : ((await this.get(r.id)) ?? r))));
  }

  /** Resolves with the final record once the run completed or failed. */
  async wait(id: string, options: { timeoutMs?: number; signal?: AbortSignal; onProgress?: (status: MirrorStatus) => void } = {}): Promise<MirrorStatus> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const status = await this.get(id);
      if (!status) throw new InvalidRequestError('id', `no mirror run ${id}`);
      options.onProgress?.(status);
      if (this.#store.isTerminal(status.state)) return status;
      if (Date.now() > deadline) throw new Error(`mirror run ${id} did not finish within ${options.timeoutMs} ms`);
      await sleep(500, undefined, { signal: options.signal });
    }
  }

  /** Whether `id` names a mirror run (for routing queue events). */
  async isMirror(id: string): Promise<boolean> {
    return (await this.#store.get(id)) !== undefined;
  }
}
