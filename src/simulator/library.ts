import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Checksums } from './checksums.ts';
import type { ContentSource } from './content.ts';
import { SimulatorConfigError } from './errors.ts';

/** One library as Library.list/find see it. */
export interface LibraryRecord {
  id: string;
  name: string;
  type: 'LOCAL' | 'SUBSCRIBED';
}

export interface ItemFile {
  name: string;
  size: number;
  source: ContentSource;
  /** Identifies the file in the checksum cache. */
  key: string;
}

export interface ItemRecord {
  id: string;
  name: string;
  type: string;
  libraryId: string;
  subscribed: boolean;
  cached: boolean;
  contentVersion: string;
  /** The publisher's item, for subscribed items. */
  sourceId: string | undefined;
  creationTime: Date;
  lastModifiedTime: Date;
  lastSyncTime: Date | undefined;
  files: ItemFile[];
}

/** An item before it joins the library: where its files' bytes come from. */
export interface ItemDraft {
  id?: string;
  name: string;
  type?: string;
  subscribed?: boolean;
  cached?: boolean;
  manifest?: boolean;
  files: Array<{ name: string; source: ContentSource }>;
}

/** vCenter's own types for what cldl cares about; anything else is named by its extension. */
export function inferItemType(fileNames: readonly string[]): string {
  if (fileNames.some((n) => n.toLowerCase().endsWith('.ovf'))) return 'ovf';
  const ext = path.extname(fileNames[0] ?? '').slice(1).toLowerCase();
  return ext || 'file';
}

const MANIFEST_LINE_OVERHEAD = 'SHA1()= '.length + 40 + 1;

/** The items the simulator serves: one local library, and a subscribed one if any item is subscribed. */
export class Library {
  readonly local: LibraryRecord = { id: randomUUID(), name: 'cldl-sim', type: 'LOCAL' };
  #subscribedLibrary: LibraryRecord | undefined;
  readonly #items = new Map<string, ItemRecord>();
  readonly #checksums: Checksums;

  constructor(checksums: Checksums) {
    this.#checksums = checksums;
  }

  libraries(): LibraryRecord[] {
    return this.#subscribedLibrary ? [this.local, this.#subscribedLibrary] : [this.local];
  }

  library(id: string): LibraryRecord | undefined {
    return this.libraries().find((l) => l.id === id);
  }

  add(draft: ItemDraft): ItemRecord {
    const id = draft.id ?? randomUUID();
    if (this.#items.has(id)) throw new SimulatorConfigError(`two items have the id ${id}`);
    if (this.byName(draft.name)) throw new SimulatorConfigError(`two items are named ${JSON.stringify(draft.name)}`);
    const names = new Set<string>();
    for (const f of draft.files) {
      if (names.has(f.name)) throw new SimulatorConfigError(`item ${draft.name} has two files named ${JSON.stringify(f.name)}`);
      names.add(f.name);
    }
    const subscribed = draft.subscribed ?? false;
    const files: ItemFile[] = draft.files.map((f) => ({ name: f.name, size: f.source.size, source: f.source, key: `${id}\0${f.name}` }));
    if (draft.manifest) files.push(this.#manifestFor(id, draft.name, [...files]));
    const now = new Date();
    const item: ItemRecord = {
      id,
      name: draft.name,
      type: draft.type ?? inferItemType(files.map((f) => f.name)),
      libraryId: subscribed ? this.#subscribed().id : this.local.id,
      subscribed,
      cached: draft.cached ?? true,
      contentVersion: '1',
      sourceId: subscribed ? randomUUID() : undefined,
      creationTime: now,
      lastModifiedTime: now,
      lastSyncTime: subscribed && (draft.cached ?? true) ? now : undefined,
      files,
    };
    this.#items.set(id, item);
    return item;
  }

  get(id: string): ItemRecord | undefined {
    return this.#items.get(id);
  }

  byName(name: string): ItemRecord | undefined {
    for (const item of this.#items.values()) if (item.name === name) return item;
    return undefined;
  }

  list(libraryId?: string): ItemRecord[] {
    const all = [...this.#items.values()];
    return libraryId === undefined ? all : all.filter((i) => i.libraryId === libraryId);
  }

  #subscribed(): LibraryRecord {
    this.#subscribedLibrary ??= { id: randomUUID(), name: 'cldl-sim-subscribed', type: 'SUBSCRIBED' };
    return this.#subscribedLibrary;
  }

  /**
   * An OVF manifest (`SHA1(name)= hex` lines) for the other files. Its size is known up front (the
   * lines have a fixed length); its text waits for the SHA-1s, computed off the event loop.
   */
  #manifestFor(itemId: string, itemName: string, files: ItemFile[]): ItemFile {
    const ovf = files.find((f) => f.name.toLowerCase().endsWith('.ovf'));
    const name = `${ovf ? ovf.name.slice(0, -4) : itemName}.mf`;
    const size = files.reduce((n, f) => n + Buffer.byteLength(f.name) + MANIFEST_LINE_OVERHEAD, 0);
    let text: Promise<Buffer> | undefined;
    const build = async (): Promise<Buffer> => {
      const sums = await Promise.all(files.map((f) => this.#checksums.checksum(f.key, f.source, 'SHA1')));
      return Buffer.from(files.map((f, i) => `SHA1(${f.name})= ${sums[i]!}\n`).join(''));
    };
    return {
      name,
      size,
      source: { kind: 'manifest', size, text: () => (text ??= build()) },
      key: `${itemId}\0${name}`,
    };
  }
}
