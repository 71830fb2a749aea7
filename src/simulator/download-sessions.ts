import { randomUUID } from 'node:crypto';
import type { ItemFile, ItemRecord, Libraries } from './libraries.ts';
import { ServedRanges } from './served-ranges.ts';
import type { TimerSet } from './timer-set.ts';
import { VapiError } from './vapi-errors.ts';

export type DownloadSessionState = 'ACTIVE' | 'CANCELED' | 'ERROR';
export type FilePrepareStatus = 'UNPREPARED' | 'PREPARE_REQUESTED' | 'PREPARING' | 'PREPARED' | 'ERROR';
export type EndpointType = 'HTTPS' | 'DIRECT';
/** Why a session no longer answers: deleted by its client or expired by the server. */
export type GoneReason = 'deleted' | 'expired';

export interface SessionFile {
  file: ItemFile;
  status: FilePrepareStatus;
  /** Every byte served, re-sends included. */
  bytesTransferred: number;
  served: ServedRanges;
  errorMessage: string | undefined;
  cancelPrepare: (() => void) | undefined;
}

export interface DownloadSession {
  id: string;
  user: string;
  item: ItemRecord;
  contentVersion: string;
  clientToken: string | undefined;
  state: DownloadSessionState;
  /** The client's fail() message, or why the server ended the session. */
  errorMessage: string | undefined;
  /** errorMessage is the server's (an item deleted), not the client's. */
  errorFromServer: boolean;
  progress: number;
  keepAlives: Array<{ at: number; progress: number }>;
  createdAt: number;
  lastActivityAt: number;
  gone: GoneReason | null;
  files: Map<string, SessionFile>;
  /** Data bytes served for this session, all files: what session faults count. */
  bytesServed: number;
  /** Aborts of in-flight data responses: a session that leaves ACTIVE cuts them. */
  transfers: Set<() => void>;
}

/** What a prepare fault decides for one prepare call. */
export type PrepareOutcome = { mode: 'never' } | { mode: 'error'; message: string } | { mode: 'slow'; ms: number } | undefined;

export interface DownloadSessionsOptions {
  libraries: Libraries;
  timers: TimerSet;
  idleTimeoutMs: number;
  prepareDelayMs: number;
  /** Consulted once per prepare call (faults.ts). */
  prepareOutcome: (session: DownloadSession, fileName: string) => PrepareOutcome;
}

function notFound(id: string): VapiError {
  return new VapiError('not_found', `Download session ${id} does not exist.`, {
    id: 'com.vmware.vdcs.cls-main.download_session_not_found',
    args: [id],
  });
}

function notActive(s: DownloadSession, what: string): VapiError {
  return new VapiError('not_allowed_in_current_state', `Cannot ${what}: download session ${s.id} is ${s.state}, not ACTIVE.`, {
    id: 'com.vmware.vdcs.cls-main.download_session_not_active',
    args: [s.id, s.state],
  });
}

/**
 * The DownloadSession state machine. Sessions stay, whatever their state, until deleted or idle past
 * the timeout (unlike govmomi's vcsim, which drops them on cancel), because a client must cope with
 * finding its session CANCELED or ERROR, not only gone. Expiry is checked whenever a session is
 * looked up, listed or inspected: no timer per session.
 */
export class DownloadSessions {
  readonly #sessions = new Map<string, DownloadSession>();
  readonly #byToken = new Map<string, string>();
  readonly #libraries: Libraries;
  readonly #timers: TimerSet;
  readonly #idleTimeoutMs: number;
  readonly #prepareDelayMs: number;
  readonly #prepareOutcome: DownloadSessionsOptions['prepareOutcome'];

  constructor(options: DownloadSessionsOptions) {
    this.#libraries = options.libraries;
    this.#timers = options.timers;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#prepareDelayMs = options.prepareDelayMs;
    this.#prepareOutcome = options.prepareOutcome;
  }

  create(user: string, itemId: string, clientToken: string | undefined): DownloadSession {
    const tokenKey = clientToken === undefined ? undefined : `${user}\0${clientToken}`;
    if (tokenKey !== undefined) {
      const earlier = this.#sessions.get(this.#byToken.get(tokenKey) ?? '');
      if (earlier && this.#live(earlier)) return earlier;
    }
    const item = this.#libraries.get(itemId);
    if (!item) {
      throw new VapiError('not_found', `Library item ${itemId} does not exist.`, {
        id: 'com.vmware.vdcs.cls-main.item_not_found',
        args: [itemId],
      });
    }
    const now = Date.now();
    const session: DownloadSession = {
      id: randomUUID(),
      user,
      item,
      contentVersion: item.contentVersion,
      clientToken,
      state: 'ACTIVE',
      errorMessage: undefined,
      errorFromServer: false,
      progress: 0,
      keepAlives: [],
      createdAt: now,
      lastActivityAt: now,
      gone: null,
      files: new Map(
        item.files.map((file) => [
          file.name,
          { file, status: 'UNPREPARED', bytesTransferred: 0, served: new ServedRanges(), errorMessage: undefined, cancelPrepare: undefined },
        ]),
      ),
      bytesServed: 0,
      transfers: new Set(),
    };
    this.#sessions.set(session.id, session);
    if (tokenKey !== undefined) this.#byToken.set(tokenKey, session.id);
    return session;
  }

  /** The user's live session, touched (any call on a session is activity); not_found otherwise. */
  find(user: string, id: string): DownloadSession {
    const s = this.#sessions.get(id);
    if (!s || s.user !== user || !this.#live(s)) throw notFound(id);
    this.touch(s);
    return s;
  }

  /** For the data endpoint, which any authenticated caller holding the URL may use. */
  findForData(id: string): DownloadSession | undefined {
    const s = this.#sessions.get(id);
    return s && this.#live(s) ? s : undefined;
  }

  list(user: string, itemId: string | undefined): string[] {
    return this.all()
      .filter((s) => s.user === user && this.#live(s) && (itemId === undefined || s.item.id === itemId))
      .map((s) => s.id);
  }

  touch(s: DownloadSession): void {
    s.lastActivityAt = Date.now();
  }

  expiresAt(s: DownloadSession): number {
    return s.lastActivityAt + this.#idleTimeoutMs;
  }

  keepAlive(s: DownloadSession, progress: number | undefined): void {
    if (s.state !== 'ACTIVE') throw notActive(s, 'keep alive');
    if (progress !== undefined) {
      if (!Number.isInteger(progress) || progress < 0 || progress > 100) {
        throw new VapiError('invalid_argument', `progress must be an integer from 0 to 100, got ${progress}.`, {
          id: 'com.vmware.vdcs.cls-main.invalid_progress',
          args: [String(progress)],
        });
      }
      // "If specified, the new progress should be greater than the current progress": enforced,
      // equal included, as a strict vCenter would.
      if (progress <= s.progress) {
        throw new VapiError('invalid_argument', `progress ${progress} is not greater than the current progress ${s.progress}.`, {
          id: 'com.vmware.vdcs.cls-main.progress_not_increased',
          args: [String(progress), String(s.progress)],
        });
      }
      s.progress = progress;
    }
    s.keepAlives.push({ at: Date.now(), progress: s.progress });
  }

  cancel(s: DownloadSession): void {
    if (s.state !== 'ACTIVE') throw notActive(s, 'cancel');
    this.#leaveActive(s, 'CANCELED', undefined);
  }

  fail(s: DownloadSession, clientMessage: string): void {
    if (s.state !== 'ACTIVE') throw notActive(s, 'fail');
    this.#leaveActive(s, 'ERROR', clientMessage);
  }

  delete(s: DownloadSession): void {
    this.#end(s, 'deleted');
  }

  /** Server-side expiry (a fault or expireSession()): the session disappears now. False if it never existed. */
  expire(id: string): boolean {
    const s = this.#sessions.get(id);
    if (s && s.gone === null) this.#end(s, 'expired');
    return s !== undefined;
  }

  /**
   * The item was deleted: its files are gone from the datastore, so its ACTIVE sessions end in
   * ERROR and their transfers are cut. They stay (get, file list, delete answer) until deleted or
   * expired, as any ERROR session does.
   */
  itemDeleted(item: ItemRecord): void {
    for (const s of this.#sessions.values()) {
      if (s.item === item && this.#live(s) && s.state === 'ACTIVE') {
        this.#leaveActive(s, 'ERROR', `Library item ${item.name} (${item.id}) was deleted.`);
        s.errorFromServer = true;
      }
    }
  }

  /** Server-side cancel (a fault or cancelSession()), as an administrator would. False if it never existed. */
  cancelByServer(id: string): boolean {
    const s = this.#sessions.get(id);
    if (s && this.#live(s) && s.state === 'ACTIVE') this.#leaveActive(s, 'CANCELED', undefined);
    return s !== undefined;
  }

  /**
   * A file of the session. An unknown name is invalid_argument, not not_found: the SDK keeps
   * NotFound for a download session that does not exist and names InvalidArgument "if there is no
   * file with the specified file_name" (File.get and File.prepare alike).
   */
  file(s: DownloadSession, fileName: string): SessionFile {
    const f = s.files.get(fileName);
    if (!f) {
      throw new VapiError('invalid_argument', `File ${JSON.stringify(fileName)} is not part of library item ${s.item.name} (${s.item.id}).`, {
        id: 'com.vmware.vdcs.cls-main.invalid_file_name',
        args: [fileName, s.item.id],
      });
    }
    return f;
  }

  /**
   * UNPREPARED (or ERROR) → PREPARE_REQUESTED → PREPARING → PREPARED, one delay a step. A file
   * already on its way is left alone, as vCenter does when a client prepares twice.
   *
   * On a session that is not ACTIVE: not_allowed_in_current_state, as keep-alive, cancel and fail
   * declare. The spec declares 400, 403 and 404 for prepare; this type is 400 in both dialects, so
   * the status stays one the spec allows while the type still says what went wrong.
   */
  prepare(s: DownloadSession, fileName: string): SessionFile {
    if (s.state !== 'ACTIVE') throw notActive(s, 'prepare a file');
    const f = this.file(s, fileName);
    if (f.status !== 'UNPREPARED' && f.status !== 'ERROR') return f;
    const outcome = this.#prepareOutcome(s, fileName);
    f.status = 'PREPARE_REQUESTED';
    f.errorMessage = undefined;
    const delay = this.#prepareDelayMs;
    f.cancelPrepare = this.#timers.after(delay, () => {
      f.status = 'PREPARING';
      if (outcome?.mode === 'never') {
        f.cancelPrepare = undefined;
        return;
      }
      f.cancelPrepare = this.#timers.after(delay + (outcome?.mode === 'slow' ? outcome.ms : 0), () => {
        f.cancelPrepare = undefined;
        if (!s.item.cached) {
          f.status = 'ERROR';
          f.errorMessage = `The content of library item ${s.item.name} (${s.item.id}) is not cached: file ${f.file.name} cannot be prepared until the item is synchronized.`;
        } else if (outcome?.mode === 'error') {
          f.status = 'ERROR';
          f.errorMessage = outcome.message;
        } else {
          f.status = 'PREPARED';
        }
      });
    });
    return f;
  }

  /** Every session ever created, gone ones included, oldest first. */
  all(): DownloadSession[] {
    const list = [...this.#sessions.values()];
    for (const s of list) this.#live(s);
    return list;
  }

  liveCount(): number {
    return this.all().filter((s) => s.gone === null).length;
  }

  /** Stops prepare timers and cuts transfers: for stop(). */
  close(): void {
    for (const s of this.#sessions.values()) this.#stopWork(s);
  }

  /** Whether the session still answers; expires it first if it sat idle too long. */
  #live(s: DownloadSession): boolean {
    if (s.gone !== null) return false;
    if (Date.now() > this.expiresAt(s)) {
      this.#end(s, 'expired');
      return false;
    }
    return true;
  }

  #leaveActive(s: DownloadSession, state: DownloadSessionState, errorMessage: string | undefined): void {
    s.state = state;
    s.errorMessage = errorMessage;
    this.#stopWork(s);
  }

  #end(s: DownloadSession, reason: GoneReason): void {
    s.gone = reason;
    this.#stopWork(s);
  }

  #stopWork(s: DownloadSession): void {
    for (const f of s.files.values()) {
      f.cancelPrepare?.();
      f.cancelPrepare = undefined;
    }
    const aborts = [...s.transfers];
    s.transfers.clear();
    for (const abort of aborts) abort();
  }
}
