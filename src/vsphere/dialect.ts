import type { z } from 'zod';
import type {
  ApiDialectName,
  ApiSessionInfo,
  DownloadFileInfo,
  DownloadSessionInfo,
  EndpointType,
  LibraryItemFileInfo,
  LibraryItemInfo,
} from './types.ts';

/**
 * One vAPI call, declared: what to send and how to read the answer. `client.ts` is the only place
 * that turns it into HTTP, so auth, timeouts, error mapping and metrics live in one funnel.
 */
export interface VapiOperation<T> {
  /** Stable operation name for logs, metrics and error messages, e.g. `download_session.create`. */
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, already encoded. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Reads the payload (already unwrapped from /rest's `{"value"}`); `undefined` for void calls. */
  decode(value: unknown): T;
}

/** The parts of a vAPI error body we keep. */
export interface VapiErrorInfo {
  errorType?: string;
  messages: string[];
}

/** Everything that differs between `/rest/com/vmware/...` and `/api/...`. */
export interface Dialect {
  readonly name: ApiDialectName;
  login(authorization: string): VapiOperation<string>;
  logout(): VapiOperation<void>;
  sessionInfo(): VapiOperation<ApiSessionInfo>;

  createDownloadSession(libraryItemId: string, clientToken: string): VapiOperation<string>;
  getDownloadSession(id: string): VapiOperation<DownloadSessionInfo>;
  listDownloadSessions(libraryItemId?: string): VapiOperation<string[]>;
  keepAlive(id: string, progress?: number): VapiOperation<void>;
  cancel(id: string): VapiOperation<void>;
  fail(id: string, clientErrorMessage: string): VapiOperation<void>;
  deleteDownloadSession(id: string): VapiOperation<void>;

  listFiles(sessionId: string): VapiOperation<DownloadFileInfo[]>;
  getFile(sessionId: string, fileName: string): VapiOperation<DownloadFileInfo>;
  prepareFile(sessionId: string, fileName: string, endpointType: EndpointType): VapiOperation<DownloadFileInfo>;

  listLibraries(): VapiOperation<string[]>;
  findLibraries(name: string): VapiOperation<string[]>;
  listItems(libraryId: string): VapiOperation<string[]>;
  getItem(libraryItemId: string): VapiOperation<LibraryItemInfo>;
  listItemFiles(libraryItemId: string): VapiOperation<LibraryItemFileInfo[]>;
  syncItem(libraryItemId: string, forceSyncContent: boolean): VapiOperation<void>;

  /** The payload of a success body. */
  unwrap(body: unknown): unknown;
  /** Reads this dialect's error body; unknown shapes give no type and no messages. */
  parseError(body: unknown): VapiErrorInfo;
}

/** Builds a decoder from a schema; the funnel turns a failed parse into a protocol error. */
export function decodeWith<T>(schema: z.ZodType<T>): (value: unknown) => T {
  return (value) => schema.parse(value);
}

export function decodeSession(id: string, schema: z.ZodType<Omit<DownloadSessionInfo, 'id'> & { id?: string }>) {
  return (value: unknown): DownloadSessionInfo => ({ ...schema.parse(value), id });
}

export const noContent = (): void => undefined;

export const enc = encodeURIComponent;
