// What a BullMQ job carries crosses a trust boundary, and neither its download's record nor its
// vCenter can be assumed to be there: an attempt checks all three before anything else, then gets
// the parts it works with, each told what earlier attempts left.
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { VCenterClient } from '../vsphere/index.ts';
import type { BudgetRegistry } from './bandwidth-budget.ts';
import { ContentVersionCheck } from './content-version.ts';
import type { DownloadRecord } from './download-record.ts';
import { parseDownloadRequest, type DownloadRequest } from './download-request.ts';
import { InvalidRequestError } from './errors.ts';
import type { OrchestratorEvents } from './events.ts';
import { FileTransfers, type TransferOptions } from './file-transfers.ts';
import type { Limits } from './limits.ts';
import type { ProgressTracker } from './progress-tracker.ts';
import { SessionLease } from './session-lease.ts';
import type { DownloadStateStore, DownloadStatus } from './state.ts';
import type { VCenterRegistry } from './vcenter-registry.ts';

/** What an attempt knows once it has begun; fixed for the attempt. */
export interface Attempt {
  readonly request: DownloadRequest;
  /** The download's record as the attempt found it: what earlier attempts left. */
  readonly status: DownloadStatus;
  readonly vc: VCenterClient;
  readonly lease: SessionLease;
  readonly files: FileTransfers;
  readonly version: ContentVersionCheck;
  /** The job's logger, told the vCenter and the item (the lease logs with it). */
  readonly log: Logger;
}

export interface AttemptDeps {
  /** The download id. */
  key: string;
  /** The request the BullMQ job carries; when it carries none, the record's is taken. */
  jobRequest: unknown;
  store: DownloadStateStore;
  vcenters: VCenterRegistry;
  limits: Limits;
  budgets: BudgetRegistry;
  downloadRoot: string;
  options: { filesPerJob: number; transfer: TransferOptions };
  events: EventEmitter<OrchestratorEvents>;
  /** This attempt's writes to the download's record. */
  record: DownloadRecord;
  tracker: ProgressTracker;
  /** The job's signal. */
  signal: AbortSignal;
  /** The job's logger as it is now. */
  log(): Logger;
}

/**
 * The request (validated again), the record (created when the job came without one), the vCenter;
 * then the attempt's session lease, file transfers and content-version check. Throws
 * InvalidRequestError for a request this worker cannot run.
 */
export async function beginAttempt(deps: AttemptDeps): Promise<Attempt> {
  const { key, store, vcenters, record, tracker, signal } = deps;
  const recorded = await store.get(key);
  const request = parseDownloadRequest(deps.jobRequest ?? recorded?.request, { vcenters: vcenters.names() });
  if (!recorded) await store.create(key, request);
  const status = recorded ?? (await store.get(key));
  const vc = vcenters.get(request.vcenter);
  if (!status || !vc) throw new InvalidRequestError('vcenter', `${JSON.stringify(request.vcenter)} is not configured on this worker`);
  const log = deps.log().child({ vcenter: vc.name, item: request.libraryItemId });
  const lease = new SessionLease({ key, libraryItemId: request.libraryItemId, vc, store, record, signal, log });
  const files = new FileTransfers({
    owner: key,
    destination: { root: deps.downloadRoot, path: request.destination },
    earlier: [...status.plannedFiles, ...status.files.map((f) => f.name)],
    lease,
    limits: deps.limits,
    filesPerJob: deps.options.filesPerJob,
    transfer: deps.options.transfer,
    throttle: deps.budgets.forDownload(key, request),
    tracker,
    events: deps.events,
    log: () => deps.log(),
  });
  const version = new ContentVersionCheck(status.contentVersion, { record, tracker, discardParts: () => files.discardAll(), log: () => deps.log() });
  return { request, status, vc, lease, files, version, log };
}
