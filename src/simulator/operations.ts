import type { ApiSession, ApiSessions } from './auth.ts';
import type { ChecksumAlgorithm, Checksums } from './checksums.ts';
import type { WireClock } from './clock.ts';
import type { DownloadSession, DownloadSessions } from './download-sessions.ts';
import type { ItemRecord, Libraries } from './libraries.ts';
import type { ResolvedOptions } from './options.ts';
import type { TimerSet } from './timer-set.ts';
import { VapiError } from './vapi-errors.ts';
import {
  downloadSessionModel,
  itemFileModel,
  itemModel,
  sessionFileModel,
  sessionInfoModel,
  type SessionFileContext,
  type TransferEndpoint,
} from './wire-models.ts';

export interface OperationsDeps {
  options: ResolvedOptions;
  libraries: Libraries;
  sessions: DownloadSessions;
  apiSessions: ApiSessions;
  checksums: Checksums;
  timers: TimerSet;
  clock: WireClock;
  endpoint(sessionId: string, fileName: string): TransferEndpoint;
}

function itemNotFound(id: string): VapiError {
  return new VapiError('not_found', `Library item ${id} does not exist.`, { id: 'com.vmware.vdcs.cls-main.item_not_found', args: [id] });
}

/**
 * What each operation does, once for both dialects: routes/rest.ts and routes/api.ts only unwrap
 * their request shapes into these calls and wrap the results.
 */
export class Operations {
  readonly #libraries: Libraries;
  readonly #sessions: DownloadSessions;
  readonly #apiSessions: ApiSessions;
  readonly #checksums: Checksums;
  readonly #timers: TimerSet;
  readonly #clock: WireClock;
  readonly #checksumAlgorithm: ChecksumAlgorithm;
  readonly #syncDelayMs: number;
  readonly #fileContext: SessionFileContext;
  /** Syncs under way, by item: a content sync asked for during a metadata one upgrades it. */
  readonly #syncing = new Map<string, { content: boolean }>();

  constructor(deps: OperationsDeps) {
    this.#libraries = deps.libraries;
    this.#sessions = deps.sessions;
    this.#apiSessions = deps.apiSessions;
    this.#checksums = deps.checksums;
    this.#timers = deps.timers;
    this.#clock = deps.clock;
    this.#checksumAlgorithm = deps.options.checksumAlgorithm;
    this.#syncDelayMs = deps.options.syncDelayMs;
    this.#fileContext = {
      endpoint: (sessionId, fileName) => deps.endpoint(sessionId, fileName),
      sizeUntilDownloaded: deps.options.sizeUntilDownloaded,
      checksumAlgorithm: deps.options.checksumAlgorithm,
      checksums: deps.checksums,
    };
  }

  login(authorization: string | undefined): string {
    return this.#apiSessions.login(authorization).token;
  }

  logout(session: ApiSession): void {
    this.#apiSessions.logout(session.token);
  }

  sessionInfo(session: ApiSession): unknown {
    return sessionInfoModel(session, this.#clock);
  }

  libraries(): string[] {
    return this.#libraries.libraries().map((l) => l.id);
  }

  findLibraries(spec: { name?: string | undefined; type?: 'LOCAL' | 'SUBSCRIBED' | undefined }): string[] {
    return this.#libraries
      .libraries()
      .filter((l) => (spec.name === undefined || l.name === spec.name) && (spec.type === undefined || l.type === spec.type))
      .map((l) => l.id);
  }

  items(libraryId: string): string[] {
    if (!this.#libraries.library(libraryId)) {
      throw new VapiError('not_found', `Library ${libraryId} does not exist.`, { id: 'com.vmware.vdcs.cls-main.library_not_found', args: [libraryId] });
    }
    return this.#libraries.list(libraryId).map((i) => i.id);
  }

  item(id: string): unknown {
    return itemModel(this.#requireItem(id), this.#clock);
  }

  itemFiles(id: string): unknown[] {
    const item = this.#requireItem(id);
    return item.files.map((f) => itemFileModel(item, f, this.#checksumAlgorithm, this.#checksums));
  }

  /**
   * Unlike a download session's File.get, an unknown name is not_found here: the SDK says "NotFound
   * if name refers to a file that does not exist in the library item", and the spec declares only
   * 200 and 404 for it.
   */
  itemFile(id: string, name: string): unknown {
    const item = this.#requireItem(id);
    const f = item.files.find((x) => x.name === name);
    if (!f) {
      throw new VapiError('not_found', `File ${JSON.stringify(name)} is not part of library item ${id}.`, {
        id: 'com.vmware.vdcs.cls-main.file_not_found',
        args: [name, id],
      });
    }
    return itemFileModel(item, f, this.#checksumAlgorithm, this.#checksums);
  }

  /**
   * As on an on-demand subscribed library: metadata always syncs; content (making an uncached item
   * cached) only with force_sync_content, after syncDelayMs.
   */
  sync(id: string, forceSyncContent: boolean): void {
    const item = this.#requireItem(id);
    if (!item.subscribed) {
      throw new VapiError('invalid_element_type', `Library item ${id} is not a member of a subscribed library.`, {
        id: 'com.vmware.vdcs.cls-main.item_not_subscribed',
        args: [id],
      });
    }
    const pending = this.#syncing.get(id);
    if (pending) {
      pending.content ||= forceSyncContent;
      return;
    }
    const sync = { content: forceSyncContent };
    this.#syncing.set(id, sync);
    this.#timers.after(this.#syncDelayMs, () => {
      this.#syncing.delete(id);
      if (sync.content) item.cached = true;
      item.lastSyncTime = new Date();
    });
  }

  createSession(session: ApiSession, itemId: string, clientToken: string | undefined): string {
    return this.#sessions.create(session.user, itemId, clientToken).id;
  }

  getSession(session: ApiSession, id: string): unknown {
    const s = this.#sessions.find(session.user, id);
    return downloadSessionModel(s, this.#sessions.expiresAt(s), this.#clock);
  }

  listSessions(session: ApiSession, itemId: string | undefined): string[] {
    if (itemId !== undefined) this.#requireItem(itemId);
    return this.#sessions.list(session.user, itemId);
  }

  keepAlive(session: ApiSession, id: string, progress: number | undefined): void {
    this.#sessions.keepAlive(this.#sessions.find(session.user, id), progress);
  }

  cancel(session: ApiSession, id: string): void {
    this.#sessions.cancel(this.#sessions.find(session.user, id));
  }

  fail(session: ApiSession, id: string, clientErrorMessage: string): void {
    this.#sessions.fail(this.#sessions.find(session.user, id), clientErrorMessage);
  }

  deleteSession(session: ApiSession, id: string): void {
    this.#sessions.delete(this.#sessions.find(session.user, id));
  }

  async files(session: ApiSession, id: string): Promise<unknown[]> {
    const s = this.#sessions.find(session.user, id);
    return Promise.all([...s.files.values()].map((f) => sessionFileModel(s, f, this.#fileContext)));
  }

  async file(session: ApiSession, id: string, fileName: string): Promise<unknown> {
    const s = this.#sessions.find(session.user, id);
    return this.#fileModel(s, fileName);
  }

  async prepare(session: ApiSession, id: string, fileName: string): Promise<unknown> {
    const s = this.#sessions.find(session.user, id);
    this.#sessions.prepare(s, fileName);
    return this.#fileModel(s, fileName);
  }

  #fileModel(s: DownloadSession, fileName: string): Promise<unknown> {
    return sessionFileModel(s, this.#sessions.file(s, fileName), this.#fileContext);
  }

  #requireItem(id: string): ItemRecord {
    const item = this.#libraries.get(id);
    if (!item) throw itemNotFound(id);
    return item;
  }
}
