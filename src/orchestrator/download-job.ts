import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { BackoffOptions } from '../backoff.ts';
import {
  assertChecksum,
  assertSafeFileName,
  ChecksumMismatchError,
  commitFile,
  DestinationExistsError,
  digestAlgorithm,
  downloadFile,
  DownloadPart,
  exists,
  hashFile,
  HttpStatusError,
  parseManifest,
  prepareDestinationDir,
  TransferError,
  type DigestAlgorithm,
  type ExpectedChecksum,
} from '../transfer/index.ts';
import {
  isVapiError,
  type DownloadFileInfo,
  type DownloadSessionInfo,
  type LibraryItemFileInfo,
  type LibraryItemInfo,
  type VCenterClient,
} from '../vsphere/index.ts';
import { parseDownloadRequest, type DownloadRequest } from './download-request.ts';
import { DownloadCanceledError, InvalidRequestError, SessionLostError, SyncTimeoutError } from './errors.ts';
import type { OrchestratorEvents } from './events.ts';
import type { HeartbeatTarget, KeepAlive } from './keep-alive.ts';
import type { Limits } from './limits.ts';
import { ProgressTracker } from './progress-tracker.ts';
import type { DownloadResult, DownloadStateStore, DownloadStatus, FileResult } from './state.ts';
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
  transfer: { attempts: number; backoff: BackoffOptions; highWaterMark: number };
  prepare: { timeoutMs: number; pollMs: number; maxPollMs: number };
  sync: { timeoutMs: number; pollMs: number };
  /** Fresh sessions a job may open after its session expired or vanished. */
  maxSessionRenewals: number;
}

export interface DownloadJobDeps {
  store: DownloadStateStore;
  vcenters: VCenterRegistry;
  keepAlive: KeepAlive;
  limits: Limits;
  downloadRoot: string;
  workerId: string;
  options: DownloadJobOptions;
  logger: Logger;
  events: EventEmitter<OrchestratorEvents>;
}

/** One file of the plan: where its bytes come from, where they go, what they must hash to. */
interface PlannedFile {
  name: string;
  size: number | undefined;
  info: DownloadFileInfo;
  itemFile: LibraryItemFileInfo | undefined;
  finalPath: string;
  partPath: string;
  /** Committed by an earlier attempt that died while renaming: nothing left to do. */
  committed: boolean;
}

const MANIFEST_LIMIT = 1 << 20;

/**
 * One download job's life, from the request to a verified file under its final name:
 * resolve (and sync) the item, create or reuse the download session, prepare every file, stream
 * them in parallel into `.part` files, verify each against vCenter's checksum and the OVF manifest,
 * rename them, and delete the session. The heartbeat keeps the session alive all along and reports
 * progress. Every failure leaves this class as an error: `job-processor.ts` decides what it means
 * for the session, the `.part` files and the BullMQ job.
 */
export class DownloadJob implements HeartbeatTarget {
  readonly key: string;
  readonly #job: JobHandle;
  readonly #deps: DownloadJobDeps;
  #log: Logger;
  readonly #cancel = new AbortController();
  readonly #signal: AbortSignal;
  readonly #tracker = new ProgressTracker();
  readonly #parts = new Map<string, DownloadPart>();
  readonly #results = new Map<string, FileResult>();
  #sessionAbort = new AbortController();
  #request: DownloadRequest | undefined;
  #vc: VCenterClient | undefined;
  #status: DownloadStatus | undefined;
  #sessionId: string | undefined;
  #reportedBytes = 0;
  #started = Date.now();
  /** The progress vCenter already holds for a reused session: never report less. */
  #initialProgress = 0;

  constructor(job: JobHandle, deps: DownloadJobDeps, signal: AbortSignal) {
    this.key = job.id ?? '';
    this.#job = job;
    this.#deps = deps;
    this.#log = deps.logger.child({ downloadId: this.key, attempt: job.attemptsMade + 1 });
    this.#signal = AbortSignal.any([signal, this.#cancel.signal]);
  }

  get signal(): AbortSignal {
    return this.#signal;
  }

  get logger(): Logger {
    return this.#log;
  }

  get request(): DownloadRequest | undefined {
    return this.#request;
  }

  get vcenter(): VCenterClient | undefined {
    return this.#vc;
  }

  get sessions(): VCenterClient['sessions'] {
    return this.#vc!.sessions;
  }

  /** Stops the job with `error` (cancellation, shutdown, a lost lock). */
  abort(error: Error): void {
    this.#cancel.abort(error);
  }

  async run(): Promise<DownloadResult> {
    this.#started = Date.now();
    const status = await this.#deps.store.get(this.key);
    if (status?.cancelRequested) throw new DownloadCanceledError('the download was canceled before it started');
    this.#request = parseDownloadRequest(this.#job.data.request ?? status?.request, { vcenters: this.#deps.vcenters.names() });
    if (!status) await this.#deps.store.create(this.key, this.#request);
    this.#status = status ?? (await this.#deps.store.get(this.key));
    const vc = this.#deps.vcenters.get(this.#request.vcenter)!;
    this.#vc = vc;
    this.#log = this.#log.child({ vcenter: vc.name, item: this.#request.libraryItemId });
    await this.#deps.store.update(this.key, {
      attempt: this.#job.attemptsMade + 1,
      worker: this.#deps.workerId,
      startedAt: new Date().toISOString(),
      lastError: undefined,
    });
    const release = vc.hold();
    try {
      const dir = await prepareDestinationDir(this.#deps.downloadRoot, this.#request.destination);
      const item = await this.#resolveItem();
      return await this.#deps.limits.sessions(vc.name).add(() => this.#withSession(dir, item), { signal: this.#signal });
    } finally {
      release();
    }
  }

  // --- HeartbeatTarget

  sessionId(): string | undefined {
    return this.#sessionId;
  }

  percent(): number {
    return this.#tracker.percent();
  }

  async report(): Promise<void> {
    const { progress, files } = this.#tracker.snapshot();
    const delta = progress.bytesDone - this.#reportedBytes;
    this.#reportedBytes = progress.bytesDone;
    if (delta > 0) this.#deps.events.emit('bytes', delta);
    const [, saved] = await Promise.all([this.#job.updateProgress(progress), this.#deps.store.saveProgress(this.key, progress, files)]);
    // The pub/sub notice may have been missed (a reconnect); the flag in Redis is the truth.
    if (saved.cancelRequested) this.abort(new DownloadCanceledError('the download was canceled'));
  }

  sessionLost(error: SessionLostError): void {
    this.#log.warn({ err: error }, 'download session lost');
    this.#sessionAbort.abort(error);
  }

  // --- the steps

  /** Step 1: the item, synchronised first when it is a subscribed item without its content. */
  async #resolveItem(): Promise<LibraryItemInfo> {
    const vc = this.#vc!;
    const id = this.#request!.libraryItemId;
    let item = await vc.items.get(id, this.#signal);
    if (item.cached !== false) return item;
    await this.#deps.store.setState(this.key, 'syncing');
    this.#log.info('library item is not cached; asking vCenter to synchronise it');
    await vc.items.sync(id, true, this.#signal);
    const { timeoutMs, pollMs } = this.#deps.options.sync;
    const deadline = Date.now() + timeoutMs;
    for (let delay = pollMs; item.cached === false; delay = Math.min(delay * 2, 10_000)) {
      if (Date.now() > deadline) throw new SyncTimeoutError(id, Math.round(timeoutMs / 1000));
      await sleep(delay, undefined, { signal: this.#signal });
      item = await vc.items.get(id, this.#signal);
    }
    return item;
  }

  /** Steps 2–6 inside one per-vCenter session slot. */
  async #withSession(dir: string, item: LibraryItemInfo): Promise<DownloadResult> {
    await this.#acquireSession();
    const untrack = this.#deps.keepAlive.track(this, this.#initialProgress);
    try {
      for (let renewals = 0; ; renewals++) {
        try {
          const plan = await this.#plan(dir, item);
          await this.#transferAll(plan);
          await this.#deps.store.setState(this.key, 'verifying');
          await this.#commit(plan);
          break;
        } catch (err) {
          const lost = await this.#asSessionLost(err);
          if (!lost?.renewable || renewals >= this.#deps.options.maxSessionRenewals || this.#signal.aborted) throw lost ?? err;
          this.#log.warn({ err: lost }, 'continuing in a fresh download session; the bytes on disk are kept');
          this.#deps.events.emit('retry', { reason: 'session_expired' });
          await this.#renewSession();
          this.#deps.keepAlive.track(this, 0);
        }
      }
      await this.#deps.keepAlive.beatNow(this).catch(() => undefined); // report 100 to vCenter
      await this.report();
      return await this.#succeed();
    } finally {
      untrack();
    }
  }

  /** Step 2: the session of an earlier attempt if it is still ACTIVE, else a new one. */
  async #acquireSession(): Promise<void> {
    const vc = this.#vc!;
    const status = this.#status!;
    await this.#deps.store.setState(this.key, 'creating');
    if (status.sessionId) {
      const info = await this.#sessionInfo(status.sessionId);
      if (info?.state === 'ACTIVE' && info.libraryItemId === this.#request!.libraryItemId) {
        this.#sessionId = status.sessionId;
        this.#initialProgress = info.clientProgress ?? 0;
        this.#log = this.#log.child({ sessionId: this.#sessionId });
        this.#log.info('resuming in the download session of an earlier attempt');
        return;
      }
      await this.#deps.store.forgetSession(vc.name, status.sessionId);
      await this.#createSession(status.sessionGeneration + 1, undefined);
      return;
    }
    // A token without a session: the last worker died between create and recording the id.
    // The same token makes vCenter hand back that session instead of a second one.
    await this.#createSession(Math.max(1, status.sessionGeneration), status.clientToken);
  }

  async #renewSession(): Promise<void> {
    const old = this.#sessionId;
    this.#sessionId = undefined;
    this.#sessionAbort = new AbortController();
    if (old) await this.#deps.store.forgetSession(this.#vc!.name, old);
    const status = await this.#deps.store.get(this.key);
    await this.#createSession((status?.sessionGeneration ?? 1) + 1, undefined);
  }

  async #createSession(generation: number, reuseToken: string | undefined): Promise<void> {
    const vc = this.#vc!;
    const clientToken = reuseToken ?? randomUUID();
    // Written before the call: see #acquireSession.
    await this.#deps.store.update(this.key, { clientToken, sessionGeneration: generation, sessionId: undefined });
    const sessionId = await vc.sessions.create(this.#request!.libraryItemId, clientToken, this.#signal);
    await this.#deps.store.attachSession(this.key, vc.name, sessionId);
    this.#sessionId = sessionId;
    this.#log = this.#log.child({ sessionId });
    this.#log.info({ generation }, 'download session created');
  }

  /** Step 3: which files, where, and prepared for download. */
  async #plan(dir: string, item: LibraryItemInfo): Promise<PlannedFile[]> {
    const vc = this.#vc!;
    const sessionId = this.#sessionId!;
    const request = this.#request!;
    const signal = this.#roundSignal();
    await this.#deps.store.setState(this.key, 'preparing');
    const [listed, itemFiles] = await Promise.all([vc.files.list(sessionId, signal), vc.items.listFiles(item.id, signal)]);
    const available = new Map(listed.map((f) => [f.name, f]));
    const names = request.files ?? listed.map((f) => f.name);
    const missing = names.filter((n) => !available.has(n));
    if (missing.length > 0) {
      throw new InvalidRequestError(
        'files',
        `item ${item.name} (${item.id}) has no file ${missing.map((m) => JSON.stringify(m)).join(', ')}; it has ${[...available.keys()].join(', ')}`,
      );
    }
    for (const name of names) assertSafeFileName(name);

    const previous = new Map((this.#status?.files ?? []).map((f) => [f.name, f]));
    const plan: PlannedFile[] = [];
    for (const name of names) {
      const finalPath = path.join(dir, name);
      const partPath = `${finalPath}.part`;
      const itemFile = itemFiles.find((f) => f.name === name);
      const committed = previous.get(name)?.status === 'done' && (await exists(finalPath)) && !(await exists(partPath));
      if (!committed && !request.overwrite && (await exists(finalPath))) throw new DestinationExistsError(finalPath);
      plan.push({ name, size: available.get(name)!.size ?? itemFile?.size, info: available.get(name)!, itemFile, finalPath, partPath, committed });
      this.#tracker.file(name, available.get(name)!.size ?? itemFile?.size);
      if (committed && !this.#results.has(name)) {
        const earlier = this.#status?.verified?.find((r) => r.name === name);
        if (earlier) this.#results.set(name, earlier);
      }
    }

    const pending = plan.filter((f) => !f.committed && !this.#results.has(f.name));
    for (const f of pending) if (f.info.status !== 'PREPARED') await vc.files.prepare(sessionId, f.name, 'HTTPS', signal);
    const prepared = await vc.files.waitPrepared(
      sessionId,
      pending.map((f) => f.name),
      { ...this.#deps.options.prepare, signal },
    );
    for (const [i, info] of prepared.entries()) pending[i]!.info = info;
    for (const f of plan.filter((p) => p.committed)) this.#tracker.setStatus(f.name, 'done');
    return plan;
  }

  /** Step 4: the manifest first (it tells which hashes the others need), then the rest in parallel. */
  async #transferAll(plan: PlannedFile[]): Promise<void> {
    await this.#deps.store.setState(this.key, 'transferring');
    const todo = plan.filter((f) => !f.committed && !this.#results.has(f.name));
    const manifestFile = todo.find((f) => f.name.toLowerCase().endsWith('.mf'));
    let manifest = new Map<string, ExpectedChecksum>();
    if (manifestFile) {
      await this.#transferOne(manifestFile, manifest);
      manifest = await this.#readManifest(manifestFile);
    }
    const rest = todo.filter((f) => f !== manifestFile);
    const round = new AbortController();
    const signal = AbortSignal.any([this.#roundSignal(), round.signal]);
    const files = new PQueue({ concurrency: this.#deps.options.filesPerJob });
    const outcomes = await Promise.allSettled(
      rest.map((f) =>
        files.add(
          async () => {
            try {
              await this.#deps.limits.transfers.add(() => this.#transferOne(f, manifest, signal), { signal });
            } catch (err) {
              round.abort(err); // one file failing stops its siblings; all settle before we go on
              throw err;
            }
          },
          { signal },
        ),
      ),
    );
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw this.#signal.aborted ? this.#signal.reason : this.#sessionAbort.signal.aborted ? this.#sessionAbort.signal.reason : failure.reason;
  }

  async #transferOne(f: PlannedFile, manifest: Map<string, ExpectedChecksum>, signal = this.#roundSignal()): Promise<void> {
    const vc = this.#vc!;
    const algorithms = new Set<DigestAlgorithm>(['sha1']);
    const fromItem = f.itemFile?.checksumInfo && digestAlgorithm(f.itemFile.checksumInfo.algorithm);
    if (fromItem) algorithms.add(fromItem);
    const fromManifest = manifest.get(f.name)?.algorithm;
    if (fromManifest) algorithms.add(fromManifest);

    let part = this.#parts.get(f.name);
    if (!part) {
      part = await DownloadPart.open(f.partPath, {
        algorithms: [...algorithms],
        resume: true,
        expectedSize: f.size,
        counter: this.#tracker.file(f.name, f.size),
      });
      this.#parts.set(f.name, part);
      if (part.resumedFrom > 0) this.#log.info({ file: f.name, bytes: part.resumedFrom }, 'resuming from the bytes on disk');
    }
    this.#tracker.setStatus(f.name, 'transferring');
    const options = {
      fileName: f.name,
      expectedSize: f.size,
      attempts: this.#deps.options.transfer.attempts,
      backoff: this.#deps.options.transfer.backoff,
      highWaterMark: this.#deps.options.transfer.highWaterMark,
      signal,
      onRetry: (e: { reason: string; attempt: number; error: Error }) => {
        this.#deps.events.emit('retry', { reason: e.reason });
        this.#log.warn({ file: f.name, attempt: e.attempt, err: e.error }, 'file transfer interrupted; resuming');
      },
    };
    for (let verifications = 1; ; verifications++) {
      await downloadFile(part, vc.dataEndpoint(f.info.downloadEndpoint!), options);
      this.#tracker.setStatus(f.name, 'verifying');
      try {
        this.#results.set(f.name, await this.#verify(f, part, manifest, signal));
        await this.#deps.store.update(this.key, { verified: JSON.stringify([...this.#results.values()]) });
        break;
      } catch (err) {
        const mismatch = err instanceof ChecksumMismatchError || (err instanceof TransferError && err.code === 'CLDL_SIZE_MISMATCH');
        if (!mismatch) throw err;
        if (verifications >= 2) {
          // The same wrong bytes twice: the source is bad, not the transfer. Retrying cannot help.
          throw new TransferError(err.code, `${err.message} (again after downloading the file a second time)`, { cause: err, fileName: f.name });
        }
        // Maybe bytes from a crashed process were bad: download the file once more from byte 0.
        this.#log.warn({ file: f.name, err }, 'verification failed; downloading the file again');
        this.#deps.events.emit('retry', { reason: 'checksum' });
        part.restart();
      }
    }
    this.#tracker.setStatus(f.name, 'done');
  }

  /** Step 4's checks: size, vCenter's checksum (set once the download completed), the OVF manifest. */
  async #verify(f: PlannedFile, part: DownloadPart, manifest: Map<string, ExpectedChecksum>, signal: AbortSignal): Promise<FileResult> {
    const server = await this.#vc!.files.get(this.#sessionId!, f.name, signal);
    const size = server.size ?? f.size;
    if (size !== undefined && size !== part.position) {
      throw new TransferError('CLDL_SIZE_MISMATCH', `${f.name}: ${part.position} bytes on disk, but vCenter says ${size}`, {
        fileName: f.name,
        retryable: true,
        restart: true,
      });
    }
    const checks: ExpectedChecksum[] = [];
    const official = server.checksumInfo ?? f.itemFile?.checksumInfo;
    const officialAlgorithm = official && digestAlgorithm(official.algorithm);
    if (official && officialAlgorithm) {
      checks.push({ algorithm: officialAlgorithm, checksum: official.checksum, source: server.checksumInfo ? 'vCenter' : 'the library item' });
    }
    const fromManifest = manifest.get(f.name);
    if (fromManifest) checks.push(fromManifest);

    const digests = part.digests();
    for (const check of checks) {
      let actual = digests[check.algorithm];
      if (actual === undefined) {
        // vCenter named an algorithm only after the transfer: the one case for a second read.
        this.#log.info({ file: f.name, algorithm: check.algorithm }, 'hashing the file again for an algorithm learnt after the transfer');
        actual = await hashFile(part.path, check.algorithm, signal);
        digests[check.algorithm] = actual;
      }
      assertChecksum(f.name, check, actual);
    }
    const reported = checks[0]?.algorithm ?? 'sha1';
    return { name: f.name, size: part.position, checksumAlgorithm: reported.toUpperCase(), checksum: digests[reported]!, verified: checks.length > 0 };
  }

  async #readManifest(f: PlannedFile): Promise<Map<string, ExpectedChecksum>> {
    const size = (await stat(f.partPath)).size;
    if (size > MANIFEST_LIMIT) {
      this.#log.warn({ file: f.name, size }, 'OVF manifest too large to read; not verifying against it');
      return new Map();
    }
    const { entries, malformed } = parseManifest(await readFile(f.partPath, 'utf8'));
    if (malformed.length > 0) this.#log.warn({ file: f.name, malformed }, 'ignoring malformed OVF manifest lines');
    return entries;
  }

  /** Step 4's end: every file verified, so every file gets its final name. */
  async #commit(plan: PlannedFile[]): Promise<void> {
    for (const f of plan) {
      if (f.committed) continue;
      const part = this.#parts.get(f.name)!;
      await part.close();
      await commitFile(part.path, f.finalPath, this.#request!.overwrite);
      this.#parts.delete(f.name);
    }
  }

  /** Step 6: the session is deleted and the result stored. */
  async #succeed(): Promise<DownloadResult> {
    const vc = this.#vc!;
    const sessionId = this.#sessionId!;
    try {
      await vc.sessions.delete(sessionId);
      await this.#deps.store.forgetSession(vc.name, sessionId);
    } catch (err) {
      // The orphan sweeper deletes it later; the files are complete, so the job is.
      this.#log.warn({ err }, 'could not delete the download session; the orphan sweeper will');
    }
    const files = [...this.#results.values()];
    return {
      sessionId,
      files,
      totalBytes: files.reduce((sum, f) => sum + f.size, 0),
      durationMs: Date.now() - this.#started,
    };
  }

  // --- for the processor's clean-up

  /** Closes every open `.part` (kept on disk for a later resume). */
  async closeParts(): Promise<void> {
    await Promise.all([...this.#parts.values()].map((p) => p.close().catch(() => undefined)));
    this.#parts.clear();
  }

  /** Closes and removes every `.part` of this download, open or left by an earlier attempt. */
  async discardParts(): Promise<void> {
    await Promise.all([...this.#parts.values()].map((p) => p.discard()));
    this.#parts.clear();
  }

  /** Session-scoped signal: aborted by the job's signal, or when the heartbeat finds the session gone. */
  #roundSignal(): AbortSignal {
    return AbortSignal.any([this.#signal, this.#sessionAbort.signal]);
  }

  async #sessionInfo(sessionId: string): Promise<DownloadSessionInfo | undefined> {
    try {
      return await this.#vc!.sessions.get(sessionId, this.#signal);
    } catch (err) {
      if (isVapiError(err, 'not_found')) return undefined;
      throw err;
    }
  }

  /**
   * Whether `err` means the session is gone. The heartbeat says so directly; a 404 from a data
   * URL or a vAPI not_found on a session call needs a look at the session to tell.
   */
  async #asSessionLost(err: unknown): Promise<SessionLostError | undefined> {
    if (err instanceof SessionLostError) return err;
    const sessionId = this.#sessionId;
    if (!sessionId || this.#signal.aborted) return undefined;
    // vCenter answers a data URL of a dead session with some 4xx (which one is not specified).
    const suspicious = (err instanceof HttpStatusError && err.status >= 400 && err.status < 500) || isVapiError(err, 'not_found');
    if (!suspicious) return undefined;
    const info = await this.#sessionInfo(sessionId).catch(() => 'unknown' as const);
    if (info === undefined) {
      return new SessionLostError(sessionId, true, `download session ${sessionId} no longer exists on vCenter (expired or deleted)`, { cause: err });
    }
    if (info !== 'unknown' && info.state !== 'ACTIVE') {
      const why = info.errorMessage ? `: ${info.errorMessage}` : '';
      return new SessionLostError(sessionId, false, `vCenter reports download session ${sessionId} as ${info.state}${why}`, { cause: err });
    }
    return undefined;
  }
}
