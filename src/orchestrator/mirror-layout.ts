import type { DestinationDir } from '../transfer/index.ts';

/** The state file a mirror keeps in its destination: what it holds, so the next run moves only what changed. */
export const STATE_FILE = '.cldl-mirror.json';
/** Where a run downloads changed items before swapping them in: beside the copies, never over them. */
export const STAGING_DIR = '.cldl-mirror-staging';

export interface MirroredFile {
  name: string;
  size: number;
  checksumAlgorithm: string;
  checksum: string;
}

export interface MirroredItem {
  id: string;
  name: string;
  /** Its directory under the destination. */
  dir: string;
  contentVersion?: string | undefined;
  files: MirroredFile[];
  syncedAt: string;
}

export interface MirrorStateFile {
  version: 1;
  vcenter: string;
  libraryId: string;
  items: Record<string, MirroredItem>;
}

/** An item of the library, as listed now. */
export interface LibraryEntry {
  id: string;
  name: string;
  contentVersion?: string | undefined;
  files: Array<{ name: string; size: number }>;
}

const MAX_DIR_BYTES = 200;

/**
 * An item name as a directory name: the name itself, with `%`, `/`, `\`, control characters and
 * a leading `.` percent-encoded (`a/b` → `a%2Fb`, `..` → `%2E.`): nothing climbs out, nothing
 * hides, nothing meets cldl's own `.cldl-mirror*` entries. Very long names are cut, and whatever
 * is cut is told apart by the item's id.
 */
export function safeDirName(name: string, id: string): string {
  // eslint-disable-next-line no-control-regex
  let dir = name.replace(/[%/\\\x00-\x1f\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (dir.startsWith('.')) dir = `%2E${dir.slice(1)}`;
  if (dir === '') dir = '%';
  if (Buffer.byteLength(dir) > MAX_DIR_BYTES) dir = `${cut(dir, MAX_DIR_BYTES - 10)}~${suffix(id)}`;
  return dir;
}

/** The stable suffix that tells apart two items whose names give one directory. */
function suffix(id: string): string {
  return id.replace(/[^A-Za-z0-9]/g, '').slice(0, 8) || 'item';
}

/**
 * Each item's directory: the one the state file recorded for it if any (a copy never moves), else
 * its safe name, else, when another item has that already, its safe name with its id's suffix.
 */
export function assignDirs(entries: readonly LibraryEntry[], state: MirrorStateFile | undefined): Map<string, string> {
  const taken = new Set<string>(Object.values(state?.items ?? {}).map((i) => i.dir));
  const out = new Map<string, string>();
  for (const e of entries) {
    const recorded = state?.items[e.id]?.dir;
    if (recorded) out.set(e.id, recorded);
  }
  for (const e of [...entries].sort((a, b) => a.id.localeCompare(b.id))) {
    if (out.has(e.id)) continue;
    let dir = safeDirName(e.name, e.id);
    if (taken.has(dir)) dir = `${dir}~${suffix(e.id)}`;
    taken.add(dir);
    out.set(e.id, dir);
  }
  return out;
}

/**
 * Whether an item needs no data: the same content version, the same files, and every one of
 * them on disk with the size recorded.
 */
export async function isCurrent(entry: LibraryEntry, recorded: MirroredItem | undefined, dest: DestinationDir): Promise<boolean> {
  if (!recorded || entry.contentVersion === undefined || recorded.contentVersion !== entry.contentVersion) return false;
  const names = (files: ReadonlyArray<{ name: string }>) => files.map((f) => f.name).sort().join('\0');
  if (names(entry.files) !== names(recorded.files)) return false;
  const dir = await dest.subdirectory(recorded.dir, false).catch(() => undefined);
  if (!dir) return false;
  for (const f of recorded.files) {
    const listed = entry.files.find((x) => x.name === f.name);
    if (!listed || listed.size !== f.size) return false;
    if ((await dir.sizeOf(f.name)) !== f.size) return false;
  }
  return true;
}

export function parseStateFile(text: string | undefined): MirrorStateFile | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as MirrorStateFile;
    return parsed.version === 1 && typeof parsed.items === 'object' && parsed.items !== null ? parsed : undefined;
  } catch {
    return undefined; // a state file that does not parse: every item is downloaded again, nothing lost
  }
}

function cut(text: string, maxBytes: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}
