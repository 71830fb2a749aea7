import { matchesGlob } from 'node:path';
import { UnrecoverableError, WaitingChildrenError, type Job, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import { CldlError } from '../cldl-error.ts';
import { DestinationDir } from '../transfer/index.ts';
import type { VCenterClient } from '../vsphere/index.ts';
import type { DownloadRequest } from './download-request.ts';
import { InvalidRequestError } from './errors.ts';
import { jobOptions, type JobPolicy } from './job-options.ts';
import { assignDirs, isCurrent, parseStateFile, STAGING_DIR, STATE_FILE, type LibraryEntry, type MirrorStateFile } from './mirror-layout.ts';
import { parseMirrorRequest, type MirrorRequest } from './mirror-request.ts';
import type { MirrorItem, MirrorStore } from './mirror-store.ts';
import type { DownloadStateStore } from './state.ts';
import type { VCenterRegistry } from './vcenter-registry.ts';

export interface MirrorJobData {
  request: MirrorRequest;
  /** Where a run that was interrupted picks up: listing (`plan`) or swapping in (`swap`). */
  step?: 'plan' | 'swap';
}

export interface MirrorResult {
  /** Set when another run held the destination: this one did nothing. */
  joined?: string;
  items: number;
  current: number;
  downloaded: number;
  pruned: number;
  failed: number;
}

export interface MirrorRunDeps {
  store: MirrorStore;
  downloads: DownloadStateStore;
  /** The downloads queue: each changed item is a download, a child of the run. */
  queue: Queue;
  vcenters: VCenterRegistry;
  downloadRoot: string;
  /** What each item's download is enqueued with. */
  jobs: JobPolicy;
  logger: Logger;
}

/** Reads the library this many items at a time. */
const LISTING_LANES = 8;

/**
 * One mirror run, as a BullMQ job in two steps. `plan`: find the library, list its items with
 * their content versions and files, compare with the state file in the destination, and queue a
 * download (a child job) for every item that changed, into a staging directory beside the copies;
 * then wait for the children. `swap`: move each downloaded item into place with a rename, remove
 * pruned ones, and write the state file. A worker that dies in either step leaves the job to
 * another, which repeats the step: both are safe to repeat.
 */
export async function runMirror(job: Job<MirrorJobData, MirrorResult>, token: string | undefined, deps: MirrorRunDeps, signal: AbortSignal): Promise<MirrorResult> {
  const id = job.id ?? '';
  const log = deps.logger.child({ mirrorId: id });
  let request: MirrorRequest | undefined;
  try {
    request = parseMirrorRequest(job.data.request, { vcenters: deps.vcenters.names() });
    if ((job.data.step ?? 'plan') === 'plan') {
      const begun = await deps.store.begin(id, request);
      if (begun.holder !== id) {
        // A schedule fired while its previous run still writes the tree: that run covers it.
        log.info({ holder: begun.holder }, 'another mirror run writes this destination; leaving it to that run');
        return { joined: begun.holder, items: 0, current: 0, downloaded: 0, pruned: 0, failed: 0 };
      }
      const children = await plan(job, request, deps, log, signal);
      await job.updateData({ ...job.data, step: 'swap' });
      if (children > 0 && token && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();
    }
    return await swap(id, request, deps, log);
  } catch (err) {
    if (err instanceof WaitingChildrenError || err instanceof UnrecoverableError) throw err;
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const permanent = !(err instanceof CldlError) || !err.retryable;
    if (request && (permanent || last)) {
      const status = await deps.store.get(id);
      await deps.store.finish(id, request, 'failed', status?.items ?? [], describe(err));
      log.error({ err }, 'mirror run failed');
      throw new UnrecoverableError(describe(err));
    }
    throw err;
  }
}

/** The `plan` step; returns how many downloads it queued. */
async function plan(job: Job<MirrorJobData, MirrorResult>, request: MirrorRequest, deps: MirrorRunDeps, log: Logger, signal: AbortSignal): Promise<number> {
  const id = job.id ?? '';
  await deps.store.update(id, { state: 'planning' });
  const vc = vcenterOf(deps, request);
  const release = vc.hold();
  try {
    const dest = await DestinationDir.open(deps.downloadRoot, request.destination);
    const library = await vc.libraries.resolve(request.library, vc.name, signal);
    const state = parseStateFile(await dest.readText(STATE_FILE));
    if (state && (state.libraryId !== library.id || state.vcenter !== vc.name)) {
      throw new InvalidRequestError(
        'destination',
        `${request.destination} holds a mirror of library ${state.libraryId} on vCenter ${state.vcenter}; mirror ${request.library} into another destination`,
      );
    }
    const listed = await listLibrary(vc, library.id, signal);
    const glob = request.items;
    const picked = glob === undefined ? listed : listed.filter((e) => matchesGlob(e.name, glob));
    const dirs = assignDirs(picked, state);
    const items: MirrorItem[] = [];
    for (const e of picked) {
      const dir = dirs.get(e.id) ?? e.id;
      const current = await isCurrent(e, state?.items[e.id], dest);
      items.push({ id: e.id, name: e.name, dir, contentVersion: e.contentVersion, action: current ? 'current' : 'download' });
    }
    // Items that left the library stay, unless asked to prune (only those the glob covers).
    const present = new Set(listed.map((e) => e.id));
    for (const gone of Object.values(state?.items ?? {})) {
      if (present.has(gone.id) || !request.prune) continue;
      if (request.items !== undefined && !matchesGlob(gone.name, request.items)) continue;
      items.push({ id: gone.id, name: gone.name, dir: gone.dir, action: 'prune' });
    }
    // Staging left by runs that died is of no use to this one.
    const staging = await dest.subdirectory(STAGING_DIR);
    const runDir = stagingName(id);
    for (const name of (await staging?.entries()) ?? []) if (name !== runDir) await staging?.removeChild(name);

    const downloads = items.filter((i) => i.action === 'download');
    for (const item of downloads) {
      // A download's id: BullMQ takes no ':' in custom ids (scheduled runs have some in theirs).
      item.downloadId = `${runDir}.${item.id}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128);
      const child: DownloadRequest = {
        vcenter: request.vcenter,
        libraryItemId: item.id,
        destination: `${request.destination}/${STAGING_DIR}/${runDir}/${item.dir}`,
        overwrite: true,
        ...(request.maxBytesPerSecond ? { maxBytesPerSecond: request.maxBytesPerSecond, bandwidthGroup: `mirror-${runDir}` } : {}),
      };
      await deps.downloads.create(item.downloadId, child);
      await deps.queue.add(
        'download',
        { request: child },
        {
          jobId: item.downloadId,
          ...jobOptions(deps.jobs),
          parent: { id, queue: job.queueQualifiedName },
          // A failed item must not stop the others, nor the swap of those that made it.
          ignoreDependencyOnFailure: true,
        },
      );
    }
    await deps.store.update(id, { state: downloads.length > 0 ? 'downloading' : 'swapping', libraryId: library.id, items });
    log.info({ library: library.id, items: items.length, downloads: downloads.length }, 'mirror run planned');
    return downloads.length;
  } finally {
    release();
  }
}

/** The `swap` step: every downloaded item into place, pruned ones out, the state file written. */
async function swap(id: string, request: MirrorRequest, deps: MirrorRunDeps, log: Logger): Promise<MirrorResult> {
  const status = await deps.store.get(id);
  const items = status?.items ?? [];
  await deps.store.update(id, { state: 'swapping' });
  const vc = vcenterOf(deps, request);
  const dest = await DestinationDir.open(deps.downloadRoot, request.destination);
  const state: MirrorStateFile = parseStateFile(await dest.readText(STATE_FILE)) ?? { version: 1, vcenter: vc.name, libraryId: status?.libraryId ?? '', items: {} };
  state.libraryId = status?.libraryId ?? state.libraryId;
  const runDir = stagingName(id);
  for (const item of items) {
    if (item.action === 'current') {
      const kept = state.items[item.id];
      if (kept) kept.name = item.name;
      continue;
    }
    if (item.action === 'prune') {
      await dest.removeChild(item.dir);
      delete state.items[item.id];
      item.outcome = 'done';
      continue;
    }
    const download = item.downloadId ? await deps.downloads.get(item.downloadId) : undefined;
    if (download?.state !== 'completed' || !download.result) {
      item.outcome = 'failed';
      item.reason = download?.lastError ?? 'its download did not complete';
      continue;
    }
    const staged = await DestinationDir.existing(deps.downloadRoot, `${request.destination}/${STAGING_DIR}/${runDir}/${item.dir}`);
    if (staged) await dest.adopt(staged, item.dir);
    else if (!(await dest.subdirectory(item.dir, false))) {
      item.outcome = 'failed';
      item.reason = 'its files went missing before they could be swapped in';
      continue;
    }
    state.items[item.id] = {
      id: item.id,
      name: item.name,
      dir: item.dir,
      // As the listing showed it (what the next run compares with); a change since only costs a download.
      contentVersion: item.contentVersion,
      files: download.result.files.map((f) => ({ name: f.name, size: f.size, checksumAlgorithm: f.checksumAlgorithm, checksum: f.checksum })),
      syncedAt: new Date().toISOString(),
    };
    item.outcome = 'done';
  }
  await dest.writeTextAtomically(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  // One run writes a destination at a time: its staging is all there is.
  if (await dest.subdirectory(STAGING_DIR, false)) await dest.removeChild(STAGING_DIR);
  const failed = items.filter((i) => i.outcome === 'failed');
  const summary = failed.map((i) => `${i.name}: ${i.reason}`).join('; ');
  await deps.store.finish(id, request, failed.length ? 'failed' : 'completed', items, failed.length ? summary : undefined);
  const result: MirrorResult = {
    items: items.filter((i) => i.action !== 'prune').length,
    current: items.filter((i) => i.action === 'current').length,
    downloaded: items.filter((i) => i.action === 'download' && i.outcome === 'done').length,
    pruned: items.filter((i) => i.action === 'prune').length,
    failed: failed.length,
  };
  log.info(result, 'mirror run finished');
  if (failed.length) throw new UnrecoverableError(`${failed.length} of ${result.items} items did not mirror: ${summary}`);
  return result;
}

/** Every item of the library with its name, content version and files, a few at a time. */
async function listLibrary(vc: VCenterClient, libraryId: string, signal: AbortSignal): Promise<LibraryEntry[]> {
  const ids = await vc.libraries.items(libraryId, signal);
  const out: LibraryEntry[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      const [item, files] = await Promise.all([vc.items.get(ids[i]!, signal), vc.items.listFiles(ids[i]!, signal)]);
      out[i] = { id: item.id, name: item.name, contentVersion: item.contentVersion ?? fileVersions(files), files: files.map((f) => ({ name: f.name, size: f.size })) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(LISTING_LANES, ids.length) }, lane));
  return out;
}

/**
 * What stands for the content version when vCenter reports none (it is optional in the API; vcsim
 * omits it): every file's own version, which vCenter bumps when a file's content is replaced.
 * Undefined when a file has none either: such an item is downloaded on every run.
 */
function fileVersions(files: ReadonlyArray<{ name: string; version?: string | undefined }>): string | undefined {
  if (files.length === 0 || files.some((f) => f.version === undefined)) return undefined;
  return `files:${files
    .map((f) => `${f.name}@${f.version}`)
    .sort()
    .join(',')}`;
}

function vcenterOf(deps: MirrorRunDeps, request: MirrorRequest): VCenterClient {
  const vc = deps.vcenters.get(request.vcenter);
  if (!vc) throw new InvalidRequestError('vcenter', `${JSON.stringify(request.vcenter)} is not configured on this worker`);
  return vc;
}

/** A run's staging directory: its id, as one safe path segment. */
function stagingName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
