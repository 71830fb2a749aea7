import { checksumFrom, type DestinationDir, type ExpectedChecksum } from '../transfer/index.ts';
import { VapiProtocolError, type DownloadFileInfo, type LibraryItemFileInfo, type LibraryItemInfo } from '../vsphere/index.ts';
import type { DownloadRequest } from './download-request.ts';
import { InvalidRequestError } from './errors.ts';
import type { FileProgress } from './state.ts';

/** One file of a download: where it goes, what it must be, and whether it is already there. */
export interface PlannedFile {
  name: string;
  finalPath: string;
  /** Where the bytes grow until the file is verified. */
  partPath: string;
  /** The size the session lists, else the library item's; undefined when neither tells. */
  size: number | undefined;
  /** The session's listing of it (its prepare status). */
  listed: DownloadFileInfo;
  /** Vouched for before the transfer: the library item's checksum, and the OVF manifest's once read. */
  checksums: ExpectedChecksum[];
  /**
   * Whether to ask vCenter for the file's size and checksum after the transfer (File.get). Not when
   * the library item's listing already gave both: the bytes are checked against that checksum,
   * vCenter's too, and the question would cost a small download one call a file for nothing new.
   */
  confirmAfter: boolean;
  /** An OVF manifest (`.mf`): downloaded first, it vouches for the others. */
  manifest: boolean;
  /** Committed by an earlier attempt that died while renaming: nothing left to do. */
  committed: boolean;
}

export interface PlanInput {
  /** The download id: each download's parts are its own. */
  owner: string;
  request: DownloadRequest;
  item: LibraryItemInfo;
  dir: DestinationDir;
  /** The session's file listing. */
  listed: readonly DownloadFileInfo[];
  /** The library item's file listing (sizes and checksums when the session has none yet). */
  itemFiles: readonly LibraryItemFileInfo[];
  /** Files as an earlier attempt left them (from the Redis record). */
  previous: readonly FileProgress[];
}

/**
 * Which files a download fetches and in what order: the ones asked for (all by default), the OVF
 * manifest first. Refuses names the item lacks, names that are not one plain path segment, and
 * final names that exist when the request does not allow overwriting them.
 */
export async function planFiles(input: PlanInput): Promise<PlannedFile[]> {
  const { request, item, dir } = input;
  const listed = new Map<string, DownloadFileInfo>();
  for (const f of input.listed) {
    // Which of the two is meant cannot be told; waiting for both to be prepared would never end.
    if (listed.has(f.name)) throw new VapiProtocolError('file.list', `the download session lists ${JSON.stringify(f.name)} twice (item ${item.name}, ${item.id})`);
    listed.set(f.name, f);
  }
  const names = request.files ?? input.listed.map((f) => f.name);
  const missing = names.filter((n) => !listed.has(n));
  if (missing.length > 0) {
    throw new InvalidRequestError(
      'files',
      `item ${item.name} (${item.id}) has no file ${missing.map((m) => JSON.stringify(m)).join(', ')}; it has ${[...listed.keys()].join(', ')}`,
    );
  }
  // dir.file() refuses unsafe names: all of them, before touching the disk.
  const wanted = names.map((name) => ({ name, paths: dir.file(name, input.owner), info: listed.get(name) }));
  const previous = new Map(input.previous.map((f) => [f.name, f]));
  const plan: PlannedFile[] = [];
  for (const { name, paths, info } of wanted) {
    if (!info) continue; // every name was checked above
    const itemFile = input.itemFiles.find((f) => f.name === name);
    const { finalPath, partPath } = paths;
    const committed = previous.get(name)?.status === 'done' && (await dir.has(finalPath)) && !(await dir.has(partPath));
    if (!committed) await dir.assertFree(name, request.overwrite);
    const size = info.size ?? itemFile?.size;
    plan.push({
      name,
      finalPath,
      partPath,
      size,
      listed: info,
      checksums: itemFile?.checksumInfo ? [checksumFrom(itemFile.checksumInfo, 'the library item')] : [],
      confirmAfter: size === undefined || itemFile?.checksumInfo === undefined,
      manifest: name.toLowerCase().endsWith('.mf'),
      committed,
    });
  }
  return [...plan.filter((f) => f.manifest), ...plan.filter((f) => !f.manifest)];
}

/** Adds what the OVF manifest vouches for to the files it names. */
export function vouchedByManifest(plan: readonly PlannedFile[], entries: ReadonlyMap<string, ExpectedChecksum>): void {
  for (const f of plan) {
    const entry = entries.get(f.name);
    if (entry && !f.manifest) f.checksums.push(entry);
  }
}
