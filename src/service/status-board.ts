import type { DownloadClient, DownloadState, DownloadWorker, MirrorStatus, VCenterRegistry } from '../orchestrator/index.ts';

type PublicDownloads = Awaited<ReturnType<DownloadClient['listDownloads']>>;

/** Everything the status page shows, in one answer: what `GET /status` and `GET /events` send. */
export interface StatusSnapshot {
  at: string;
  /** BullMQ's job counts by state, for the whole queue. */
  counts: Record<string, number>;
  /** Newest first; only those in `state` when the snapshot was asked for one. */
  downloads: PublicDownloads;
  mirrors: MirrorStatus[];
  /** The worker processes BullMQ knows (connected to the queue). */
  workers: Array<{ name: string; addr?: string | undefined; age?: number | undefined }>;
  /** Each vCenter's download sessions for cldl's user, and the download that owns each (if cldl's). */
  sessions: Array<{ vcenter: string; sessionId: string; downloadId?: string | undefined; error?: string | undefined }>;
}

export interface StatusBoardDeps {
  client: DownloadClient;
  worker: DownloadWorker;
  vcenters: VCenterRegistry;
}

/** vCenter's session lists change slowly and cost a round trip each: asked at most this often. */
const SESSIONS_TTL_MS = 10_000;
const DOWNLOADS_SHOWN = 200;
const MIRRORS_SHOWN = 20;

/**
 * Collects the status page's snapshot from Redis (downloads, mirror runs, queue counts, workers)
 * and vCenter (open download sessions, cached for a few seconds). Reads only.
 */
export class StatusBoard {
  readonly #deps: StatusBoardDeps;
  #sessions: { at: number; rows: StatusSnapshot['sessions'] } | undefined;

  constructor(deps: StatusBoardDeps) {
    this.#deps = deps;
  }

  async snapshot(state?: DownloadState): Promise<StatusSnapshot> {
    const { client, worker } = this.#deps;
    const [counts, downloads, mirrors, workers, open] = await Promise.all([
      worker.jobCounts(),
      client.listDownloads({ ...(state ? { state } : {}), limit: DOWNLOADS_SHOWN }),
      client.listMirrors({ limit: MIRRORS_SHOWN }),
      worker.workers(),
      this.#openSessions(),
    ]);
    // A session cldl no longer tracks (failed, left for the admin to read) still has its download.
    const bySession = new Map(downloads.filter((d) => d.sessionId).map((d) => [d.sessionId, d.id]));
    const sessions = open.map((s) => (s.downloadId || !bySession.has(s.sessionId) ? s : { ...s, downloadId: bySession.get(s.sessionId) }));
    return { at: new Date().toISOString(), counts, downloads, mirrors, workers, sessions };
  }

  async #openSessions(): Promise<StatusSnapshot['sessions']> {
    if (this.#sessions && Date.now() - this.#sessions.at < SESSIONS_TTL_MS) return this.#sessions.rows;
    const owners = new Map((await this.#deps.worker.store.ownedSessions()).map((s) => [`${s.vcenter}/${s.sessionId}`, s.downloadId]));
    const rows: StatusSnapshot['sessions'] = [];
    for (const name of this.#deps.vcenters.names()) {
      const vc = this.#deps.vcenters.get(name);
      if (!vc) continue;
      try {
        for (const sessionId of await vc.sessions.list()) rows.push({ vcenter: name, sessionId, downloadId: owners.get(`${name}/${sessionId}`) });
      } catch (err) {
        rows.push({ vcenter: name, sessionId: '', error: err instanceof Error ? err.message : String(err) });
      }
    }
    this.#sessions = { at: Date.now(), rows };
    return rows;
  }
}
