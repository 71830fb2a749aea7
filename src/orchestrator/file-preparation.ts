// vCenter serves no byte of a session's file before it has prepared it, and no part may exist
// before the files are held and recorded: this is the step between a session and the transfer,
// and the one that decides what earlier attempts did still counts.
import type { DestinationDir } from '../transfer/index.ts';
import type { LibraryItemFileInfo, LibraryItemInfo, PreparedFileInfo, WaitPreparedOptions } from '../vsphere/index.ts';
import type { DestinationHold } from './destination-hold.ts';
import type { Attempt } from './download-attempt.ts';
import type { DownloadRecord } from './download-record.ts';
import { planFiles, type PlannedFile } from './file-plan.ts';
import type { ProgressTracker } from './progress-tracker.ts';

export interface PreparationDeps {
  /** The download id: each download's parts are its own. */
  owner: string;
  tracker: ProgressTracker;
  hold: DestinationHold;
  /** This attempt's writes to the download's record: the state goes there once the files are prepared. */
  record: DownloadRecord;
  options: Omit<WaitPreparedOptions, 'signal' | 'known'>;
}

/** The files to transfer, and vCenter's endpoints for the ones not done yet. */
export interface PreparedFiles {
  plan: PlannedFile[];
  prepared: Map<string, PreparedFileInfo>;
}

/**
 * Which files, where, and prepared for download by vCenter in the attempt's current session.
 * Files an earlier attempt committed, and its results for them, are taken over (unless the
 * download started over). `itemListing` is the library item's file listing, asked for already.
 */
export async function prepareFiles(
  a: Attempt,
  deps: PreparationDeps,
  item: LibraryItemInfo,
  dir: DestinationDir,
  itemListing: Promise<LibraryItemFileInfo[]>,
): Promise<PreparedFiles> {
  const { tracker, hold, record } = deps;
  const [listed, itemFiles] = await Promise.all([a.lease.files(), itemListing]);
  const previous = a.version.startedOver ? [] : a.status.files;
  const plan = await planFiles({ owner: deps.owner, request: a.request, item, dir, listed, itemFiles, previous });
  const committed = new Set(plan.filter((f) => f.committed).map((f) => f.name));
  a.files.adopt((a.version.startedOver ? [] : (a.status.verified ?? [])).filter((r) => committed.has(r.name)));
  for (const f of plan) {
    tracker.file(f.name, f.size);
    if (f.committed) tracker.setStatus(f.name, 'done');
  }
  const pending = plan.filter((f) => !f.committed && !a.files.verified(f.name));
  // While vCenter prepares, the files are held and recorded (both before any part exists). Files
  // another download holds end the wait: this one is requeued.
  const prepared = await hold.take(plan, (busy) => a.lease.prepare(pending.map((f) => f.listed), deps.options, busy));
  record.stage({ state: 'transferring' });
  return { plan, prepared: new Map(prepared.map((p) => [p.name, p])) };
}
