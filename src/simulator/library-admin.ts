import type { Readable } from 'node:stream';
import { type ChecksumAlgorithm, type Checksums, isChecksumAlgorithm } from './checksums.ts';
import { openContent } from './content.ts';
import type { DownloadSessions } from './download-sessions.ts';
import { SimulatorConfigError, SimulatorLookupError } from './errors.ts';
import { draftFromSpec, fileDrafts } from './item-specs.ts';
import type { ItemFile, ItemRecord, Libraries, LibraryRecord, LibraryType } from './libraries.ts';
import type { ItemSpec } from './options.ts';

/** An item as the simulator's caller sees it (ids to look for, sizes to expect). */
export interface SimulatorItem {
  id: string;
  name: string;
  type: string;
  libraryId: string;
  /** "1" at start, "2" after the first replaceItemContent(), and so on. */
  contentVersion: string;
  files: Array<{ name: string; size: number }>;
}

export interface SimulatorLibrary {
  id: string;
  name: string;
  type: LibraryType;
}

export interface LibraryAdminOptions {
  libraries: Libraries;
  sessions: DownloadSessions;
  checksums: Checksums;
  checksumAlgorithm: ChecksumAlgorithm;
  /** Hash new content in the background as soon as it exists (checksumsAtStart). */
  hashEagerly: boolean;
}

function describe(item: ItemRecord): SimulatorItem {
  return {
    id: item.id,
    name: item.name,
    type: item.type,
    libraryId: item.libraryId,
    contentVersion: item.contentVersion,
    files: item.files.map((f) => ({ name: f.name, size: f.size })),
  };
}

/**
 * What a test does to the libraries behind the API's back, as an administrator or a publisher
 * would: look items up, add, replace and delete them, and read their true bytes and checksums.
 */
export class LibraryAdmin {
  readonly #libraries: Libraries;
  readonly #sessions: DownloadSessions;
  readonly #checksums: Checksums;
  readonly #checksumAlgorithm: ChecksumAlgorithm;
  readonly #hashEagerly: boolean;

  constructor(options: LibraryAdminOptions) {
    this.#libraries = options.libraries;
    this.#sessions = options.sessions;
    this.#checksums = options.checksums;
    this.#checksumAlgorithm = options.checksumAlgorithm;
    this.#hashEagerly = options.hashEagerly;
  }

  items(): SimulatorItem[] {
    return this.#libraries.list().map(describe);
  }

  /** By name; `libraryName` picks one when two libraries hold an item of that name. */
  item(name: string, libraryName?: string): SimulatorItem {
    const libraryId = libraryName === undefined ? undefined : this.#library(libraryName).id;
    return describe(this.#oneNamed(name, libraryId));
  }

  library(name: string): SimulatorLibrary {
    const { id, type } = this.#library(name);
    return { id, name, type };
  }

  addItem(spec: ItemSpec, libraryName?: string): SimulatorItem {
    const library = libraryName === undefined ? undefined : this.#library(libraryName);
    const item = this.#libraries.add(draftFromSpec(spec), library);
    this.hashInBackground(item);
    return describe(item);
  }

  replaceItemContent(itemIdOrName: string, files?: ItemSpec['files']): SimulatorItem {
    const item = this.#find(itemIdOrName);
    this.#libraries.replaceContent(item, files && fileDrafts(item.name, files, item.generation + 1));
    this.hashInBackground(item);
    return describe(item);
  }

  deleteItem(itemIdOrName: string): void {
    const item = this.#find(itemIdOrName);
    this.#libraries.delete(item);
    this.#sessions.itemDeleted(item);
  }

  fileContent(itemId: string, fileName: string, range: { start?: number; end?: number } = {}): Readable {
    const f = this.#file(itemId, fileName);
    return openContent(f.source, range.start ?? 0, Math.min(range.end ?? f.size, f.size));
  }

  fileChecksum(itemId: string, fileName: string, algorithm: string = this.#checksumAlgorithm): Promise<string> {
    const f = this.#file(itemId, fileName);
    const upper = algorithm.toUpperCase();
    if (!isChecksumAlgorithm(upper)) return Promise.reject(new SimulatorConfigError(`unknown checksum algorithm ${algorithm}`));
    return this.#checksums.checksum(f.key, f.source, upper);
  }

  /** Starts hashing the item's current files, if new content is hashed eagerly. */
  hashInBackground(item: ItemRecord): void {
    if (!this.#hashEagerly) return;
    // An OVF manifest needs the other files' SHA-1s, whatever File.Info reports.
    const algorithms: ChecksumAlgorithm[] = item.manifest ? [this.#checksumAlgorithm, 'SHA1'] : [this.#checksumAlgorithm];
    for (const f of item.files) this.#checksums.prefetch(f.key, f.source, algorithms);
  }

  #library(name: string): LibraryRecord {
    const library = this.#libraries.libraryByName(name);
    if (!library) throw new SimulatorLookupError(`no library named ${JSON.stringify(name)}`);
    return library;
  }

  #oneNamed(name: string, libraryId?: string): ItemRecord {
    const found = this.#libraries.byName(name, libraryId);
    if (found.length === 0) throw new SimulatorLookupError(`no item named ${JSON.stringify(name)}`);
    if (found.length > 1) {
      const where = found.map((i) => this.#libraries.library(i.libraryId)?.name).join(', ');
      throw new SimulatorLookupError(`${found.length} items are named ${JSON.stringify(name)} (in ${where}): name the library, or use the id`);
    }
    return found[0]!;
  }

  #find(itemIdOrName: string): ItemRecord {
    return this.#libraries.get(itemIdOrName) ?? this.#oneNamed(itemIdOrName);
  }

  #file(itemId: string, fileName: string): ItemFile {
    const item = this.#libraries.get(itemId);
    const f = item?.files.find((x) => x.name === fileName);
    if (!f) throw new SimulatorLookupError(item ? `item ${itemId} has no file ${JSON.stringify(fileName)}` : `no item ${itemId}`);
    return f;
  }
}
