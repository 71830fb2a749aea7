import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { HttpStatusError } from '../transfer/index.ts';
import {
  isVapiError,
  type DataEndpoint,
  type DownloadFileInfo,
  type DownloadSessionInfo,
  type PreparedFileInfo,
  type VCenterClient,
  type WaitPreparedOptions,
} from '../vsphere/index.ts';
import type { DownloadRecord } from './download-record.ts';
import { FileNotInSessionError, SessionLostError } from './errors.ts';
import type { HeartbeatSession } from './keep-alive.ts';
import { SessionTeardown } from './session-teardown.ts';
import type { DownloadStateStore, DownloadStatus, SessionIndexChange } from './state.ts';

export interface SessionLeaseDeps {
  /** The download id: the session is recorded under it. */
  key: string;
  libraryItemId: string;
  vc: VCenterClient;
  store: DownloadStateStore;
  /** This attempt's writes to the download's record: the client token and the session go there. */
  record: DownloadRecord;
  /** The job's signal: aborts every call the lease makes. */
  signal: AbortSignal;
  log: Logger;
}

/**
 * One download's hold on a vCenter download session, across attempts and renewals: it reuses the
 * session an earlier attempt left ACTIVE, creates one with the client token recorded in Redis
 * before the call, opens a fresh one when the session expired or vanished, prepares the files,
 * and ends it by outcome. It is the session half of the heartbeat target.
 */
export class SessionLease implements HeartbeatSession {
  readonly teardown: SessionTeardown;
  readonly #deps: SessionLeaseDeps;
  #id: string | undefined;
  #lost = new AbortController();
  #signal: AbortSignal | undefined;
  #initialProgress = 0;
  #expiresAt: number | undefined;
  #contentVersion: string | undefined;

  constructor(deps: SessionLeaseDeps) {
    this.#deps = deps;
    this.teardown = new SessionTeardown(deps.vc, deps.store, deps.log);
  }

  /** The current session; undefined before the first and between two. */
  id(): string | undefined {
    return this.#id;
  }

  /** The progress vCenter already holds for a reused session: the heartbeat never reports less. */
  get initialProgress(): number {
    return this.#initialProgress;
  }

  /** When a reused session expires, on vCenter's clock (undefined for one just created). */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /** Aborted by the job's signal, or when the current session is lost. */
  get signal(): AbortSignal {
    // One composite per session, not one per call: each would hold listeners on both parents.
    this.#signal ??= AbortSignal.any([this.#deps.signal, this.#lost.signal]);
    return this.#signal;
  }

  keepAlive(id: string, progress?: number): Promise<void> {
    return this.#deps.vc.sessions.keepAlive(id, progress);
  }

  get(id: string): Promise<DownloadSessionInfo> {
    return this.#deps.vc.sessions.get(id);
  }

  now(): number {
    return this.#deps.vc.serverNow();
  }

  /**
   * The session an earlier attempt recorded, taken as is, without asking vCenter: for ending it
   * (a download canceled between attempts) rather than using it.
   */
  adopt(status: DownloadStatus): void {
    this.#id = status.sessionId;
  }

  /** The version of the item's content the session serves (it pins the version it was created with). */
  get contentVersion(): string | undefined {
    return this.#contentVersion;
  }

  /**
   * The session of an earlier attempt if it is still ACTIVE and ours; otherwise a new one.
   * `itemVersion` is the item's content_version, read before this call. `versionRecorded`: the
   * session's content version went to the record with the session (see #create).
   */
  async acquire(status: DownloadStatus, itemVersion: string | undefined): Promise<{ how: 'reused' | 'created'; versionRecorded: boolean }> {
    if (status.sessionId) {
      const info = await this.#read(status.sessionId);
      if (info?.state === 'ACTIVE' && info.libraryItemId === this.#deps.libraryItemId) {
        this.#id = status.sessionId;
        this.#initialProgress = info.clientProgress ?? 0;
        this.#expiresAt = info.expirationTime?.getTime();
        this.#contentVersion = info.libraryItemContentVersion;
        return { how: 'reused', versionRecorded: false };
      }
      await this.teardown.forget(status.sessionId);
      await this.#create(status.sessionGeneration + 1, undefined, undefined);
      return { how: 'created', versionRecorded: false };
    }
    // A token without a session: the last worker died between create and recording the id.
    // The same token makes vCenter hand back that session instead of a second one.
    // Without a token, this is the download's very first session: see #create for `itemVersion`.
    const first = status.clientToken === undefined && status.contentVersion === undefined;
    const known = first ? itemVersion : undefined;
    await this.#create(Math.max(1, status.sessionGeneration), status.clientToken, known);
    return { how: 'created', versionRecorded: known !== undefined };
  }

  /** A fresh session after the current one expired or vanished; the bytes on disk are kept. */
  async renew(): Promise<void> {
    const old = this.#id;
    this.#id = undefined;
    this.#lost = new AbortController();
    this.#signal = undefined;
    this.#initialProgress = 0;
    this.#expiresAt = undefined;
    if (old) await this.teardown.forget(old);
    const status = await this.#deps.store.get(this.#deps.key);
    await this.#create((status?.sessionGeneration ?? 1) + 1, undefined, undefined);
  }

  /** The heartbeat found the session gone or ended: stop everything that uses it. */
  lost(error: SessionLostError): void {
    this.#lost.abort(error);
  }

  /** The session as vCenter reports it now; undefined when it no longer exists. */
  async info(): Promise<DownloadSessionInfo | undefined> {
    return this.#id === undefined ? undefined : this.#read(this.#id);
  }

  /**
   * Whether `err` means the session is gone. The heartbeat says so directly; a 4xx from a data
   * URL or a vAPI not_found on a session call needs a look at the session to tell.
   */
  async asLost(err: unknown): Promise<SessionLostError | undefined> {
    if (err instanceof SessionLostError) return err;
    const id = this.#id;
    if (!id || this.#deps.signal.aborted) return undefined;
    // vCenter answers a data URL of a dead session with some 4xx (which one is not specified).
    const suspicious =
      (err instanceof HttpStatusError && err.status >= 400 && err.status < 500) || isVapiError(err, 'not_found') || isVapiError(err, 'invalid_argument');
    if (!suspicious) return undefined;
    const info = await this.#read(id).catch(() => 'unknown' as const);
    if (info === undefined) return SessionLostError.gone(id, err);
    if (info !== 'unknown' && info.state !== 'ACTIVE') return SessionLostError.ended(info, err);
    return undefined;
  }

  // --- the session's files

  files(): Promise<DownloadFileInfo[]> {
    return this.#deps.vc.files.list(this.#current(), this.signal);
  }

  /**
   * Prepares every file not PREPARED yet and waits until all are (or `stop`); returns them in
   * order, with endpoints. `files` is the session's listing: with the answers to `prepare` it is
   * what the wait starts from, so a file vCenter prepared at once costs no poll.
   */
  async prepare(files: readonly DownloadFileInfo[], options: Omit<WaitPreparedOptions, 'signal' | 'known'>, stop?: AbortSignal): Promise<PreparedFileInfo[]> {
    const id = this.#current();
    const signal = stop ? AbortSignal.any([this.signal, stop]) : this.signal;
    const known = await Promise.all(files.map((f) => (f.status === 'PREPARED' ? Promise.resolve(f) : this.#deps.vc.files.prepare(id, f.name, 'HTTPS', signal))));
    return this.#deps.vc.files.waitPrepared(
      id,
      files.map((f) => f.name),
      { ...options, signal, known },
    );
  }

  /**
   * A file as vCenter reports it after its download (checksum_info is set then). vCenter answers a
   * name the session lacks with invalid_argument (its SDK docs) or not_found (older builds, and a
   * session that is gone): the session itself tells which.
   */
  async file(name: string, signal: AbortSignal): Promise<DownloadFileInfo> {
    const id = this.#current();
    try {
      return await this.#deps.vc.files.get(id, name, signal);
    } catch (err) {
      if (!isVapiError(err, 'invalid_argument') && !isVapiError(err, 'not_found')) throw err;
      const lost = await this.asLost(err);
      if (lost) throw lost;
      throw new FileNotInSessionError(name, id, err.serverMessage, err);
    }
  }

  /** Where to GET a prepared file's bytes. */
  dataEndpoint(file: PreparedFileInfo): DataEndpoint {
    return this.#deps.vc.dataEndpoint(file.downloadEndpoint);
  }

  // --- how it ends

  /**
   * The download succeeded: delete the session. Returns its entry in the session index, for the
   * outcome's write to drop; none for a session that could not be deleted (the sweeper will).
   */
  async finish(): Promise<SessionIndexChange | undefined> {
    const id = this.#id;
    if (!id) return undefined;
    try {
      await this.teardown.delete(id);
      return { vcenter: this.#deps.vc.name, sessionId: id, op: 'forget' };
    } catch (err) {
      this.#deps.log.warn({ err }, 'could not delete the download session; the orphan sweeper will');
      return undefined;
    }
  }

  /**
   * The download was canceled: cancel the session, then delete it (a CANCELED session otherwise
   * lingers on vCenter until it expires). One that cannot be deleted stays for the sweeper.
   */
  async cancel(): Promise<void> {
    const id = this.#id;
    if (!id) return;
    await this.teardown.cancelQuietly(id);
    try {
      await this.teardown.deleteAndForget(id);
    } catch (err) {
      this.#deps.log.warn({ err, sessionId: id }, 'could not delete the canceled download session; the orphan sweeper will');
    }
  }

  /**
   * The download failed: tell vCenter why, unless the session already ended or is gone (fail() on
   * it would only be refused), and drop it from the index. A failed session stays on vCenter, in
   * ERROR with cldl's message, for the admin to read; vCenter expires it.
   */
  async fail(message: string, sessionEndedOrGone: boolean): Promise<void> {
    const id = this.#id;
    if (!id) return;
    if (!sessionEndedOrGone) await this.teardown.failQuietly(id, message);
    await this.teardown.forget(id);
  }

  /**
   * Creates a session (or gets back the one `reuseToken` created) and records it. The content
   * version it pins decides whether bytes on disk belong to it; it is read back from the session,
   * unless `knownVersion` is given: the item's version read before the download's very first
   * session. Nothing is on disk then, and that version is no later than the one the session pins
   * (versions only grow), so it goes to the record with the session: at worst a later session,
   * pinning a later version, finds it unequal and starts over needlessly; never the reverse.
   */
  async #create(generation: number, reuseToken: string | undefined, knownVersion: string | undefined): Promise<void> {
    const { record, vc, libraryItemId, signal } = this.#deps;
    const clientToken = reuseToken ?? randomUUID();
    // Written before the call: see acquire().
    await record.write({ clientToken, sessionGeneration: generation, sessionId: undefined });
    const id = await vc.sessions.create(libraryItemId, clientToken, signal);
    await record.attachSession(vc.name, id, knownVersion === undefined ? {} : { contentVersion: knownVersion });
    this.#id = id;
    this.#contentVersion = knownVersion ?? (await this.#read(id))?.libraryItemContentVersion;
  }

  async #read(id: string): Promise<DownloadSessionInfo | undefined> {
    try {
      return await this.#deps.vc.sessions.get(id, this.#deps.signal);
    } catch (err) {
      if (isVapiError(err, 'not_found')) return undefined;
      throw err;
    }
  }

  #current(): string {
    if (this.#id === undefined) throw new Error('no download session: acquire() first');
    return this.#id;
  }
}
