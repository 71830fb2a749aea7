import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Checksums } from './checksums.ts';
import type { ContentSource } from './content.ts';
import { SimulatorConfigError } from './errors.ts';
import { generatedSeed } from './generated-content.ts';
import type { ItemSpec } from './options.ts';

export type LibraryType = 'LOCAL' | 'SUBSCRIBED';

/** One library as Library.list/find see it. */
export interface LibraryRecord {
  id: string;
  name: string;
  type: LibraryType;
}

export interface ItemFile {
  name: string;
  size: number;
  source: ContentSource;
  /** Identifies this file of this content version in the checksum cache. */
  key: string;
}

export interface ItemRecord {
  id: string;
  name: string;
  type: string;
  libraryId: string;
  subscribed: boolean;
  cached: boolean;
  /** 1 at start, one more each time the content is replaced. */
  generation: number;
  /** The generation as a decimal string, as vCenter reports content versions. */
  contentVersion: string;
  /** It carries a generated OVF manifest, rebuilt whenever its content changes. */
  manifest: boolean;
  /** The publisher's item, for subscribed items. */
  sourceId: string | undefined;
  creationTime: Date;
  lastModifiedTime: Date;
  lastSyncTime: Date | undefined;
  /** The current content. A download session keeps the list it was created with. */
  files: ItemFile[];
}

export interface FileDraft {
  name: string;
  source: ContentSource;
}

/** An item before it joins a library: an ItemSpec whose files say where their bytes come from. */
export interface ItemDraft extends Omit<ItemSpec, 'files' | 'subscribed'> {
  /** Undefined: whatever its library is. */
  subscribed?: boolean;
  files: FileDraft[];
}

/** Where items that name no library go, as they always have. */
export const DEFAULT_LOCAL_LIBRARY = 'cldl-sim';
export const DEFAULT_SUBSCRIBED_LIBRARY = 'cldl-sim-subscribed';

/** vCenter's own types for what cldl cares about; anything else is named by its extension. */
export function inferItemType(fileNames: readonly string[]): string {
  if (fileNames.some((n) => n.toLowerCase().endsWith('.ovf'))) return 'ovf';
  const ext = path.extname(fileNames[0] ?? '').slice(1).toLowerCase();
  return ext || 'file';
}

const MANIFEST_LINE_OVERHEAD = 'SHA1()= '.length + 40 + 1;

function isManifestName(name: string): boolean {
  return name.toLowerCase().endsWith('.mf');
}

/**
 * The libraries and their items. Item names are unique within a library, as vCenter's Item.create
 * refuses a second item of the same name in one library (already_exists); the same name may appear
 * in two libraries, with distinct ids. Deleted items are forgotten here; download sessions keep
 * the records they were created with.
 */
export class Libraries {
  readonly #libraries: LibraryRecord[] = [];
  readonly #items = new Map<string, ItemRecord>();
  readonly #checksums: Checksums;

  constructor(checksums: Checksums) {
    this.#checksums = checksums;
  }

  addLibrary(spec: { name: string; id?: string | undefined; type?: LibraryType | undefined }): LibraryRecord {
    if (!spec.name) throw new SimulatorConfigError('a library needs a name');
    if (this.libraryByName(spec.name)) throw new SimulatorConfigError(`two libraries are named ${JSON.stringify(spec.name)}`);
    const id = spec.id ?? randomUUID();
    if (this.library(id)) throw new SimulatorConfigError(`two libraries have the id ${id}`);
    const type = spec.type ?? 'LOCAL';
    if (type !== 'LOCAL' && type !== 'SUBSCRIBED') throw new SimulatorConfigError(`library ${spec.name}: type must be LOCAL or SUBSCRIBED, got ${String(type)}`);
    const library: LibraryRecord = { id, name: spec.name, type };
    this.#libraries.push(library);
    return library;
  }

  /** In the order they were made. */
  libraries(): LibraryRecord[] {
    return [...this.#libraries];
  }

  library(id: string): LibraryRecord | undefined {
    return this.#libraries.find((l) => l.id === id);
  }

  libraryByName(name: string): LibraryRecord | undefined {
    return this.#libraries.find((l) => l.name === name);
  }

  /** The library for an item that names none: cldl-sim, or cldl-sim-subscribed for a subscribed item; made on first use. */
  defaultLibrary(subscribed: boolean): LibraryRecord {
    const [name, type]: [string, LibraryType] = subscribed ? [DEFAULT_SUBSCRIBED_LIBRARY, 'SUBSCRIBED'] : [DEFAULT_LOCAL_LIBRARY, 'LOCAL'];
    const found = this.libraryByName(name);
    if (!found) return this.addLibrary({ name, type });
    if (found.type !== type) throw new SimulatorConfigError(`library ${name} must be ${type}: items that name no library go there`);
    return found;
  }

  add(draft: ItemDraft, library: LibraryRecord = this.defaultLibrary(draft.subscribed ?? false)): ItemRecord {
    if (!draft.name) throw new SimulatorConfigError('an item needs a name');
    const subscribed = library.type === 'SUBSCRIBED';
    if (draft.subscribed !== undefined && draft.subscribed !== subscribed) {
      throw new SimulatorConfigError(`item ${draft.name} is ${draft.subscribed ? '' : 'not '}subscribed, but library ${library.name} is ${library.type}`);
    }
    const id = draft.id ?? randomUUID();
    if (this.#items.has(id)) throw new SimulatorConfigError(`two items have the id ${id}`);
    if (this.list(library.id).some((i) => i.name === draft.name)) {
      throw new SimulatorConfigError(`two items are named ${JSON.stringify(draft.name)} in library ${library.name}`);
    }
    const manifest = draft.manifest ?? false;
    const files = this.#itemFiles(id, draft.name, 1, draft.files, manifest ? this.#manifestName(draft.name, draft.files) : undefined);
    const cached = draft.cached ?? true;
    const now = new Date();
    const item: ItemRecord = {
      id,
      name: draft.name,
      type: draft.type ?? inferItemType(files.map((f) => f.name)),
      libraryId: library.id,
      subscribed,
      cached,
      generation: 1,
      contentVersion: '1',
      manifest,
      sourceId: subscribed ? randomUUID() : undefined,
      creationTime: now,
      lastModifiedTime: now,
      lastSyncTime: subscribed && cached ? now : undefined,
      files,
    };
    this.#items.set(id, item);
    return item;
  }

  /**
   * New content, as a publisher's update or an administrator's upload makes: a new content version,
   * new files, checksums and manifest. Without `files` every file keeps its name and size and gets
   * new generated bytes; an OVF manifest among them (generated or not) is rebuilt for them.
   */
  replaceContent(item: ItemRecord, files: FileDraft[] | undefined): void {
    const generation = item.generation + 1;
    let drafts = files;
    let manifestName = item.manifest && files ? this.#manifestName(item.name, files) : undefined;
    if (!drafts) {
      const manifests = item.files.filter((f) => f.source.kind === 'manifest' || isManifestName(f.name));
      manifestName = manifests[0]?.name;
      drafts = item.files
        .filter((f) => !manifests.includes(f))
        .map((f) => ({ name: f.name, source: { kind: 'generated', size: f.size, seed: generatedSeed(item.name, f.name, generation) } }));
    }
    item.files = this.#itemFiles(item.id, item.name, generation, drafts, manifestName);
    item.manifest = manifestName !== undefined;
    item.generation = generation;
    item.contentVersion = String(generation);
    item.lastModifiedTime = new Date();
  }

  delete(item: ItemRecord): void {
    this.#items.delete(item.id);
  }

  get(id: string): ItemRecord | undefined {
    return this.#items.get(id);
  }

  /** Items of that name, in one library or in all. */
  byName(name: string, libraryId?: string): ItemRecord[] {
    return this.list(libraryId).filter((i) => i.name === name);
  }

  list(libraryId?: string): ItemRecord[] {
    const all = [...this.#items.values()];
    return libraryId === undefined ? all : all.filter((i) => i.libraryId === libraryId);
  }

  #itemFiles(itemId: string, itemName: string, generation: number, drafts: FileDraft[], manifestName: string | undefined): ItemFile[] {
    const names = new Set<string>();
    for (const name of [...drafts.map((f) => f.name), ...(manifestName === undefined ? [] : [manifestName])]) {
      if (names.has(name)) throw new SimulatorConfigError(`item ${itemName} has two files named ${JSON.stringify(name)}`);
      names.add(name);
    }
    const key = (name: string): string => `${itemId}\0${generation}\0${name}`;
    const files: ItemFile[] = drafts.map((f) => ({ name: f.name, size: f.source.size, source: f.source, key: key(f.name) }));
    if (manifestName !== undefined) files.push(this.#manifest(manifestName, key(manifestName), [...files]));
    return files;
  }

  /** `<ovf name>.mf`, or `<item name>.mf` for an item without an OVF descriptor. */
  #manifestName(itemName: string, files: readonly FileDraft[]): string {
    const ovf = files.find((f) => f.name.toLowerCase().endsWith('.ovf'));
    return `${ovf ? ovf.name.slice(0, -4) : itemName}.mf`;
  }

  /**
   * An OVF manifest (`SHA1(name)= hex` lines) for the other files. Its size is known up front (the
   * lines have a fixed length); its text waits for the SHA-1s, computed off the event loop.
   */
  #manifest(name: string, key: string, files: ItemFile[]): ItemFile {
    const size = files.reduce((n, f) => n + Buffer.byteLength(f.name) + MANIFEST_LINE_OVERHEAD, 0);
    let text: Promise<Buffer> | undefined;
    const build = async (): Promise<Buffer> => {
      const sums = await Promise.all(files.map((f) => this.#checksums.checksum(f.key, f.source, 'SHA1')));
      return Buffer.from(files.map((f, i) => `SHA1(${f.name})= ${sums[i]!}\n`).join(''));
    };
    return { name, size, source: { kind: 'manifest', size, text: () => (text ??= build()) }, key };
  }
}
