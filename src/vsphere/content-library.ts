import { CldlError } from '../cldl-error.ts';
import type { VapiClient } from './client.ts';
import { requireText } from './download-session.ts';

/** A content library found by name or id. */
export interface LibraryRef {
  id: string;
  /** As the caller named it (the id when found by id). */
  asked: string;
}

/** The library reads a mirror needs: find one by name or id, list its items. */
export class ContentLibraries {
  readonly #vapi: VapiClient;

  constructor(vapi: VapiClient) {
    this.#vapi = vapi;
  }

  list(signal?: AbortSignal): Promise<string[]> {
    return this.#vapi.run((d) => d.listLibraries(), signal);
  }

  /** Ids of the libraries named `name` (names need not be unique across a vCenter's libraries). */
  find(name: string, signal?: AbortSignal): Promise<string[]> {
    requireText('name', name);
    return this.#vapi.run((d) => d.findLibraries(name), signal);
  }

  /** Ids of the items of `libraryId`. */
  items(libraryId: string, signal?: AbortSignal): Promise<string[]> {
    requireText('libraryId', libraryId);
    return this.#vapi.run((d) => d.listItems(libraryId), signal);
  }

  /**
   * The one library `nameOrId` names: a library id, or else a library name. Throws a
   * LibraryNotFoundError naming it (and the vCenter) when there is none, or several by that name.
   */
  async resolve(nameOrId: string, vcenter: string, signal?: AbortSignal): Promise<LibraryRef> {
    requireText('library', nameOrId);
    const ids = await this.list(signal);
    if (ids.includes(nameOrId)) return { id: nameOrId, asked: nameOrId };
    const found = await this.find(nameOrId, signal);
    if (found.length === 1) return { id: found[0]!, asked: nameOrId };
    throw new LibraryNotFoundError(nameOrId, vcenter, found.length);
  }
}

/** No library (or more than one) by that name or id on that vCenter. */
export class LibraryNotFoundError extends CldlError {
  readonly library: string;
  readonly vcenter: string;
  constructor(library: string, vcenter: string, matches: number) {
    super(
      'CLDL_LIBRARY_NOT_FOUND',
      matches === 0
        ? `vCenter ${vcenter} has no content library named or with the id ${JSON.stringify(library)}`
        : `vCenter ${vcenter} has ${matches} content libraries named ${JSON.stringify(library)}; name one by its id`,
    );
    this.library = library;
    this.vcenter = vcenter;
  }
}
