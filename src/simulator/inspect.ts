import type { ApiSessions } from './auth.ts';
import type { CallLog, DataRequestRecord } from './call-log.ts';
import type { DownloadSessions, DownloadSessionState, FilePrepareStatus, GoneReason } from './download-sessions.ts';
import type { Libraries } from './libraries.ts';
import type { OperationName } from './operation-names.ts';

/** A snapshot of what the simulator saw, as plain data for assertions. */
export interface Inspection {
  /** Calls per operation, counted on arrival (before faults and auth), zero for those never called. */
  calls: Record<OperationName, number>;
  /** Every download session ever created, oldest first, deleted and expired ones included. */
  sessions: InspectedSession[];
  /** Download sessions neither deleted nor expired. */
  liveSessions: number;
  /** Logged-in API sessions not yet idle past their timeout. */
  apiSessions: number;
  /** Every request to a download URL, in arrival order. */
  dataRequests: DataRequestRecord[];
  /** Download sessions created; a create answered with an earlier session (same client token) makes none. */
  sessionsCreated: number;
  /** GETs of download URLs, whatever their answer (HEADs move no data and are not counted). */
  dataGets: number;
  /** Body bytes those GETs sent. */
  dataBytes: number;
  /** The same per library item id: every item that exists, and deleted ones that had a session. */
  byItem: Record<string, ItemActivity>;
}

export interface ItemActivity {
  name: string;
  sessionsCreated: number;
  /** GETs of download URLs of this item's sessions. */
  dataGets: number;
  dataBytes: number;
}

export interface InspectedSession {
  id: string;
  user: string;
  itemId: string;
  itemName: string;
  clientToken: string | null;
  state: DownloadSessionState;
  gone: GoneReason | null;
  /** The last client_progress a keep-alive set. */
  progress: number;
  /** The client's fail() message, or why the server ended the session (its item was deleted). */
  errorMessage: string | null;
  /** Every keep-alive, with the progress in force after it (ms since the epoch). */
  keepAlives: Array<{ at: number; progress: number }>;
  createdAt: number;
  expiresAt: number;
  files: InspectedFile[];
}

export interface InspectedFile {
  name: string;
  status: FilePrepareStatus;
  bytesTransferred: number;
  /** Every byte of the file was served in this session (over one request or several). */
  complete: boolean;
  errorMessage: string | null;
}

export function inspect(sessions: DownloadSessions, apiSessions: ApiSessions, log: CallLog, libraries: Libraries): Inspection {
  const all = sessions.all();
  const byItem: Record<string, ItemActivity> = {};
  const activity = (id: string, name: string): ItemActivity => (byItem[id] ??= { name, sessionsCreated: 0, dataGets: 0, dataBytes: 0 });
  for (const item of libraries.list()) activity(item.id, item.name);
  const itemOfSession = new Map<string, { id: string; name: string }>();
  for (const s of all) {
    activity(s.item.id, s.item.name).sessionsCreated++;
    itemOfSession.set(s.id, s.item);
  }
  const gets = log.dataRequests.filter((r) => !log.isHead(r));
  for (const r of gets) {
    const item = itemOfSession.get(r.session);
    if (!item) continue;
    const a = activity(item.id, item.name);
    a.dataGets++;
    a.dataBytes += r.bytesSent;
  }
  return {
    calls: { ...log.calls },
    sessions: all.map((s) => ({
      id: s.id,
      user: s.user,
      itemId: s.item.id,
      itemName: s.item.name,
      clientToken: s.clientToken ?? null,
      state: s.state,
      gone: s.gone,
      progress: s.progress,
      errorMessage: s.errorMessage ?? null,
      keepAlives: s.keepAlives.map((k) => ({ ...k })),
      createdAt: s.createdAt,
      expiresAt: sessions.expiresAt(s),
      files: [...s.files.values()].map((f) => ({
        name: f.file.name,
        status: f.status,
        bytesTransferred: f.bytesTransferred,
        complete: f.served.covers(f.file.size),
        errorMessage: f.errorMessage ?? null,
      })),
    })),
    liveSessions: all.filter((s) => s.gone === null).length,
    apiSessions: apiSessions.liveCount(),
    dataRequests: log.dataRequests.map((r) => ({ ...r })),
    sessionsCreated: all.length,
    dataGets: gets.length,
    dataBytes: gets.reduce((n, r) => n + r.bytesSent, 0),
    byItem,
  };
}
