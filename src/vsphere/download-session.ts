import { CldlError } from '../cldl-error.ts';
import type { VapiClient } from './client.ts';
import type { DownloadSessionInfo } from './types.ts';

/** vCenter keeps the client's message in the session; a novel would not help the admin reading it. */
const MAX_FAIL_MESSAGE = 1000;

/** Content Library's DownloadSession service: one download of one library item. */
export class DownloadSessions {
  readonly #vapi: VapiClient;

  constructor(vapi: VapiClient) {
    this.#vapi = vapi;
  }

  /**
   * Creates a session for `libraryItemId`. vCenter returns the same session for the same
   * `clientToken`, which is what lets a crashed worker's successor find the session instead of
   * leaking a second one.
   */
  create(libraryItemId: string, clientToken: string, signal?: AbortSignal): Promise<string> {
    requireText('libraryItemId', libraryItemId);
    requireText('clientToken', clientToken);
    return this.#vapi.run((d) => d.createDownloadSession(libraryItemId, clientToken), signal);
  }

  /**
   * Milliseconds since the epoch on vCenter's clock, the clock `expirationTime` is on: time left is
   * `expirationTime - serverNow()`, whatever the worker's clock says (see VCenterClient.serverNow).
   */
  serverNow(): number {
    return this.#vapi.clock.now();
  }

  get(id: string, signal?: AbortSignal): Promise<DownloadSessionInfo> {
    requireText('id', id);
    return this.#vapi.run((d) => d.getDownloadSession(id), signal);
  }

  /** Ids of this user's sessions, optionally only those for one item. */
  list(libraryItemId?: string, signal?: AbortSignal): Promise<string[]> {
    return this.#vapi.run((d) => d.listDownloadSessions(libraryItemId), signal);
  }

  /**
   * Keeps the session from expiring and reports `progress` (0–100). The API wants a progress
   * greater than the session's current one (0 at creation): leave it out when it has not grown.
   */
  keepAlive(id: string, progress?: number, signal?: AbortSignal): Promise<void> {
    requireText('id', id);
    if (progress !== undefined && !(Number.isInteger(progress) && progress >= 0 && progress <= 100)) {
      throw new CldlError('CLDL_INVALID_ARGUMENT', `keep-alive progress must be an integer from 0 to 100, got ${progress}`);
    }
    return this.#vapi.run((d) => d.keepAlive(id, progress), signal);
  }

  cancel(id: string, signal?: AbortSignal): Promise<void> {
    requireText('id', id);
    return this.#vapi.run((d) => d.cancel(id), signal);
  }

  /** Ends the session in ERROR with a message for the humans who look at it in vCenter. */
  fail(id: string, clientErrorMessage: string, signal?: AbortSignal): Promise<void> {
    requireText('id', id);
    requireText('clientErrorMessage', clientErrorMessage);
    const message =
      clientErrorMessage.length > MAX_FAIL_MESSAGE ? `${clientErrorMessage.slice(0, MAX_FAIL_MESSAGE - 1)}…` : clientErrorMessage;
    return this.#vapi.run((d) => d.fail(id, message), signal);
  }

  delete(id: string, signal?: AbortSignal): Promise<void> {
    requireText('id', id);
    return this.#vapi.run((d) => d.deleteDownloadSession(id), signal);
  }
}

export function requireText(name: string, value: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new CldlError('CLDL_INVALID_ARGUMENT', `${name} must be a non-empty string`);
  }
}
