import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { DestinationDir } from '../transfer/index.ts';
import type { LibraryItemFileInfo, LibraryItemInfo } from '../vsphere/index.ts';
import { DownloadRecord } from './download-record.ts';
import type { DownloadRequest } from './download-request.ts';
import { DownloadCanceledError } from './errors.ts';
import type { OrchestratorEvents } from './events.ts';
import type { BudgetRegistry } from './bandwidth-budget.ts';
import { DestinationHold } from './destination-hold.ts';
import { beginAttempt, type Attempt } from './download-attempt.ts';
import { DownloadHeartbeat } from './download-heartbeat.ts';
import type { FileHolds } from './file-holds.ts';
import type { TransferOptions } from './file-transfers.ts';
import { prepareFiles } from './file-preparation.ts';
import { resolveItem } from './item-sync.ts';
import type { KeepAlive } from './keep-alive.ts';
import type { Limits } from './limits.ts';
import { ProgressReporter } from './progress-reporter.ts';
import { ProgressTracker } from './progress-tracker.ts';
import type { SessionLease } from './session-lease.ts';
import { progressFields, type DownloadResult, type DownloadStateStore, type RecordFields, type SessionIndexChange } from './state.ts';
import type { VCenterRegistry } from './vcenter-registry.ts';

/** The slice of a BullMQ Job that a download needs (a narrow seam: tests can pass a plain object). */
export interface JobHandle {
  readonly id?: string | undefined;
  readonly data: { request?: unknown };
  readonly attemptsMade: number;
  updateProgress(progress: object): Promise<void>;
}

export interface DownloadJobOptions {
  filesPerJob: number;
  transfer: TransferOptions;
  prepare: { timeoutMs: number; pollMs: number; maxPollMs: number };
  sync: { timeoutMs: number; pollMs: number };
  /** Fresh sessions a job may open after its session expired or vanished. */
  maxSessionRenewals: number;
}

export interface DownloadJobDeps {
  store: DownloadStateStore;
  vcenters: VCenterRegistry;
  keepAlive: KeepAlive;
  holds: FileHolds;
  budgets: BudgetRegistry;
  limits: Limits;
  downloadRoot: string;
  workerId: string;
  options: DownloadJobOptions;
  logger: Logger;
  events: EventEmitter<OrchestratorEvents>;
}

/**
 * One attempt at a download, from the request to verified files under their final names: begin
 * (`download-attempt.ts`), resolve (and sync) the item (`item-sync.ts`), hold a download session
 * (`session-lease.ts`), plan, hold and prepare the files (`file-preparation.ts`), move them to disk
 * verified (`file-transfers.ts`), commit them, and delete the session. The heartbeat
 * (`download-heartbeat.ts`) keeps the session alive all along and reports progress
 * (`progress-reporter.ts`). Every failure leaves as an error: `job-processor.ts` decides what it means.
 */
export class DownloadJob {
  readonly key: string;
  readonly #job: JobHandle;
  readonly #deps: DownloadJobDeps;
  readonly #cancel = new AbortController();
  readonly #signal: AbortSignal;
  readonly #tracker = new ProgressTracker();
  readonly #record: DownloadRecord;
  #log: Logger;
  readonly #hold: DestinationHold;
  readonly #reporter: ProgressReporter;
  #attempt: Attempt | undefined;
  /** The session the download completed in, deleted: its outcome's write drops it from the index. */
  #deletedSession: SessionIndexChange | undefined;
  #started = Date.now();

  constructor(job: JobHandle, deps: DownloadJobDeps, signal: AbortSignal) {
    this.key = job.id ?? '';
    this.#job = job;
    this.#deps = deps;
    this.#log = deps.logger.child({ downloadId: this.key, attempt: job.attemptsMade + 1 });
    this.#signal = AbortSignal.any([signal, this.#cancel.signal]);
    this.#record = new DownloadRecord(deps.store, this.key, () => this.abort(new DownloadCanceledError('the download was canceled')));
    this.#hold = new DestinationHold({ key: this.key, holds: deps.holds, record: this.#record, signal: this.#signal });
    this.#reporter = new ProgressReporter({ job, record: this.#record, tracker: this.#tracker, events: deps.events });
  }

  get signal(): AbortSignal {
    return this.#signal;
  }

  get logger(): Logger {
    return this.#log;
  }

  /** Known once the attempt began (the request validated). */
  get request(): DownloadRequest | undefined {
    return this.#attempt?.request;
  }

  /** The attempt's hold on its download session, once it began. */
  get lease(): SessionLease | undefined {
    return this.#attempt?.lease;
  }

  /** Stops the job with `error` (cancellation, shutdown, a lost lock). */
  abort(error: Error): void {
    this.#cancel.abort(error);
  }

  /**
   * What the outcome's write carries besides its own fields: what this attempt staged and did not
   * write yet (its attempt number, its state), and, when it completed, its last progress.
   */
  outcomeFields(completed: boolean): RecordFields {
    const staged = this.#record.takeStaged();
    if (!completed) return staged;
    const { progress, files } = this.#tracker.snapshot();
    return { ...staged, ...progressFields(progress, files) };
  }

  /** The session a completed download deleted, for its outcome's write to drop from the session index. */
  get deletedSession(): SessionIndexChange | undefined {
    return this.#deletedSession;
  }

  async run(): Promise<DownloadResult> {
    this.#started = Date.now();
    const attempt = await this.#begin();
    const { vc, request } = attempt;
    const release = vc.hold();
    try {
      // The directory and the item do not depend on each other: both at once. Should the item fail
      // first, its error is the one reported.
      const opening = DestinationDir.open(this.#deps.downloadRoot, request.destination);
      opening.catch(() => undefined);
      const item = await resolveItem(vc, request.libraryItemId, {
        ...this.#deps.options.sync,
        signal: this.#signal,
        onSyncing: async () => {
          await this.#record.write({ state: 'syncing' });
          this.#log.info('library item is not cached; asking vCenter to synchronise it');
        },
      });
      const dir = await opening;
      return await this.#deps.limits.sessions(vc.name).add(() => this.#withSession(attempt, dir, item), { signal: this.#signal });
    } finally {
      release();
      await this.#hold.release().catch(() => undefined);
    }
  }

  /** Closes every open part (kept on disk for a later resume). */
  async closeParts(): Promise<void> {
    await this.#attempt?.files.closeAll();
  }

  /** Closes and removes every part of this download, an earlier attempt's too. */
  async discardParts(): Promise<void> {
    await this.#attempt?.files.discardAll();
  }

  /** The attempt begins (`download-attempt.ts`), unless the download was canceled since the last one. */
  async #begin(): Promise<Attempt> {
    const a = await beginAttempt({
      ...this.#deps,
      key: this.key,
      jobRequest: this.#job.data.request,
      record: this.#record,
      tracker: this.#tracker,
      signal: this.#signal,
      log: () => this.#log,
    });
    this.#log = a.log;
    this.#attempt = a;
    if (a.status.cancelRequested) {
      // Canceled between attempts: whatever an earlier attempt left (its session, its parts) goes.
      a.lease.adopt(a.status);
      throw new DownloadCanceledError('the download was canceled before this attempt started');
    }
    // Written with the next write that cannot wait (see download-record.ts).
    this.#record.stage({ attempt: this.#job.attemptsMade + 1, worker: this.#deps.workerId, startedAt: new Date().toISOString(), lastError: undefined });
    return a;
  }

  /** Inside one per-vCenter session slot: the session's life, renewed when it expires mid-way. */
  async #withSession(a: Attempt, dir: DestinationDir, item: LibraryItemInfo): Promise<DownloadResult> {
    const { keepAlive, events } = this.#deps;
    // The item's own file listing needs no session: it is asked while the session is made.
    let itemFiles: Promise<LibraryItemFileInfo[]> | undefined = a.vc.items.listFiles(item.id, this.#signal);
    itemFiles.catch(() => undefined);
    this.#record.stage({ state: 'creating' });
    const { how, versionRecorded } = await a.lease.acquire(a.status, item.contentVersion);
    if (versionRecorded) a.version.recorded(a.lease.contentVersion);
    this.#onSession(a, how === 'reused' ? 'resuming in the download session of an earlier attempt' : 'download session created');
    await a.version.check(a.lease.contentVersion);
    const heartbeat = new DownloadHeartbeat({ key: this.key, keepAlive, lease: a.lease, tracker: this.#tracker, reporter: this.#reporter, hold: this.#hold, log: () => this.#log });
    const untrack = heartbeat.start();
    const preparation = { owner: this.key, tracker: this.#tracker, hold: this.#hold, record: this.#record, options: this.#deps.options.prepare };
    try {
      for (let renewals = 0; ; renewals++) {
        try {
          const { plan, prepared } = await prepareFiles(a, preparation, item, dir, itemFiles ?? a.vc.items.listFiles(item.id, a.lease.signal));
          itemFiles = undefined; // a renewed session's item may have changed: it is asked again
          await a.files.transferAll(plan, prepared, dir, a.lease.signal);
          // Before any rename: a later attempt finds which files are done and their results, even if
          // this one dies between two renames.
          const { progress, files } = this.#tracker.snapshot();
          await this.#record.saveProgress(progress, files, { state: 'verifying', verified: JSON.stringify(a.files.results()) });
          this.#signal.throwIfAborted();
          // Every file is verified: vCenter hears 100 while the names are given and made durable.
          const lastBeat = heartbeat.last();
          await a.files.commit(plan, dir, a.request.overwrite);
          await Promise.all([lastBeat, this.#hold.release()]);
          break;
        } catch (err) {
          const lost = await a.lease.asLost(err);
          if (!lost?.renewable || renewals >= this.#deps.options.maxSessionRenewals || this.#signal.aborted) throw lost ?? err;
          this.#log.warn({ err: lost }, 'continuing in a fresh download session; the bytes on disk are kept');
          events.emit('retry', { reason: 'session_expired' });
          await a.lease.renew();
          this.#onSession(a, 'download session created');
          await a.version.check(a.lease.contentVersion);
          heartbeat.renewed();
        }
      }
      await this.#reporter.reportLast();
      const sessionId = a.lease.id() ?? '';
      this.#deletedSession = await a.lease.finish();
      const files = a.files.results();
      return { sessionId, files, totalBytes: files.reduce((sum, f) => sum + f.size, 0), durationMs: Date.now() - this.#started };
    } finally {
      untrack();
    }
  }

  #onSession(a: Attempt, message: string): void {
    const sessionId = a.lease.id();
    this.#log = this.#log.child({ sessionId });
    this.#log.info(message);
  }
}
