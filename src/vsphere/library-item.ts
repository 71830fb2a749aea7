import type { VapiClient } from './client.ts';
import { requireText } from './download-session.ts';
import type { LibraryItemFileInfo, LibraryItemInfo } from './types.ts';

/** The library-item reads a download needs, and the sync of a subscribed item. */
export class LibraryItems {
  readonly #vapi: VapiClient;

  constructor(vapi: VapiClient) {
    this.#vapi = vapi;
  }

  get(libraryItemId: string, signal?: AbortSignal): Promise<LibraryItemInfo> {
    requireText('libraryItemId', libraryItemId);
    return this.#vapi.run((d) => d.getItem(libraryItemId), signal);
  }

  listFiles(libraryItemId: string, signal?: AbortSignal): Promise<LibraryItemFileInfo[]> {
    requireText('libraryItemId', libraryItemId);
    return this.#vapi.run((d) => d.listItemFiles(libraryItemId), signal);
  }

  /** Starts synchronising a subscribed item; `get(...).cached` turns true when its content is here. */
  sync(libraryItemId: string, forceSyncContent = true, signal?: AbortSignal): Promise<void> {
    requireText('libraryItemId', libraryItemId);
    return this.#vapi.run((d) => d.syncItem(libraryItemId, forceSyncContent), signal);
  }
}
