import type { EventEmitter } from 'node:events';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { BackoffOptions } from '../backoff.ts';
import { checksumFrom, DestinationDir, readManifest, VerifiedDownload, type ExpectedChecksum, type VerifiedFile } from '../transfer/index.ts';
import type { PreparedFileInfo } from '../vsphere/index.ts';
import type { BandwidthBudget, Budgets } from './bandwidth-budget.ts';
import type { OrchestratorEvents } from './events.ts';
import { vouchedByManifest, type PlannedFile } from './file-plan.ts';
import type { Limits } from './limits.ts';
import type { ProgressTracker } from './progress-tracker.ts';
import type { SessionLease } from './session-lease.ts';

export interface TransferOptions {
  attempts: number;
  backoff: BackoffOptions;
  highWaterMark: number;
  /** A file of `minBytes` or more goes over `connections` connections when the server honours Range and one stream is slow. */
  segments: { connections: number; minBytes: number; slowerThanBytesPerSecond?: number | undefined };
}

export interface FileTransfersDeps {
  /** The download id: each download's parts are its own. */
  owner: string;
  /** Where the download's files go: the download root, and the request's destination under it. */
  destination: { root: string; path: string };
  /** Files earlier attempts planned or recorded: their parts are this download's too. */
  earlier: readonly string[];
  lease: SessionLease;
  limits: Limits;
  filesPerJob: number;
  transfer: TransferOptions;
  /** A bandwidth budget every byte of this download is drawn from; none when nothing caps it. */
  throttle: BandwidthBudget | Budgets | undefined;
  tracker: ProgressTracker;
  events: EventEmitter<OrchestratorEvents>;
  /** The job's logger as it is now (it gains the session id when one is acquired). */
  log(): Logger;
}

/**
 * The files of one download moving to disk: the OVF manifest first (it tells which checksums the
 * others must match), then the rest in parallel within the job's, the process's and the
 * vCenter's bounds. Each file's part outlives a session, so a renewed session resumes it.
 */
export class FileTransfers {
  readonly #deps: FileTransfersDeps;
  readonly #open = new Map<string, VerifiedDownload>();
  readonly #results = new Map<string, VerifiedFile>();

  constructor(deps: FileTransfersDeps) {
    this.#deps = deps;
  }

  /** Results an earlier attempt recorded, for files it committed. */
  adopt(files: readonly VerifiedFile[]): void {
    for (const f of files) if (!this.#results.has(f.name)) this.#results.set(f.name, f);
  }

  /** Whether `name` is verified (in this attempt or an earlier one). */
  verified(name: string): boolean {
    return this.#results.has(name);
  }

  results(): VerifiedFile[] {
    return [...this.#results.values()];
  }

  /** Downloads and verifies every planned file not done yet; `prepared` holds their endpoints. */
  async transferAll(plan: readonly PlannedFile[], prepared: ReadonlyMap<string, PreparedFileInfo>, dir: DestinationDir, signal: AbortSignal): Promise<void> {
    const todo = plan.filter((f) => !f.committed && !this.verified(f.name));
    const manifest = todo.find((f) => f.manifest);
    if (manifest) {
      await this.#transferOne(manifest, prepared, dir, signal);
      vouchedByManifest(plan, await this.#readManifest(manifest));
    }
    const rest = todo.filter((f) => f !== manifest);
    const round = new AbortController();
    const roundSignal = AbortSignal.any([signal, round.signal]);
    const files = new PQueue({ concurrency: this.#deps.filesPerJob });
    const outcomes = await Promise.allSettled(
      rest.map((f) =>
        files.add(
          async () => {
            try {
              await this.#deps.limits.transfers.add(() => this.#transferOne(f, prepared, dir, roundSignal), { signal: roundSignal });
            } catch (err) {
              round.abort(err); // one file failing stops its siblings; all settle before we go on
              throw err;
            }
          },
          { signal: roundSignal },
        ),
      ),
    );
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    // What stopped the round (a cancel, a lost session) explains it better than a sibling's AbortError.
    if (failure) throw signal.aborted ? signal.reason : failure.reason;
  }

  /** Every verified part gets its final name; the directory is synced once, after the last. */
  async commit(plan: readonly PlannedFile[], dir: DestinationDir, overwrite: boolean): Promise<void> {
    const files = plan.flatMap((f) => {
      const download = this.#open.get(f.name);
      return f.committed || !download ? [] : [{ download, finalPath: f.finalPath }];
    });
    await VerifiedDownload.commitAll(dir, files, overwrite);
    for (const f of files) this.#open.delete(f.download.fileName);
  }

  /** Closes every open part (kept on disk for a later resume). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open.values()].map((p) => p.close()));
    this.#open.clear();
  }

  /**
   * Closes and removes every part of this download: the ones this attempt opened, and the ones of
   * files an earlier attempt (or this one) registered.
   */
  async discardAll(): Promise<void> {
    await Promise.all([...this.#open.values()].map((p) => p.discard()));
    this.#open.clear();
    const { owner, destination, earlier, tracker } = this.#deps;
    const dir = await DestinationDir.existing(destination.root, destination.path).catch(() => undefined);
    if (!dir) return;
    for (const name of new Set([...earlier, ...tracker.names()])) {
      if (DestinationDir.fileNameProblem(name) !== undefined) continue; // never planned, so never a part
      await dir.removePart(dir.file(name, owner).partPath).catch((err: unknown) => this.#deps.log().warn({ err, file: name }, 'could not remove a part'));
    }
  }

  async #transferOne(f: PlannedFile, prepared: ReadonlyMap<string, PreparedFileInfo>, dir: DestinationDir, signal: AbortSignal): Promise<void> {
    const { tracker, lease, events } = this.#deps;
    const log = this.#deps.log();
    const info = prepared.get(f.name);
    if (!info) throw new Error(`${f.name} was not prepared`);
    let part = this.#open.get(f.name);
    if (!part) {
      part = await VerifiedDownload.open({
        fileName: f.name,
        dir,
        partPath: f.partPath,
        expected: { size: f.size, checksums: f.checksums },
        counter: tracker.file(f.name, f.size),
      });
      this.#open.set(f.name, part);
      if (part.resumedFrom > 0) log.info({ file: f.name, bytes: part.resumedFrom }, 'resuming from the bytes on disk');
    }
    tracker.setStatus(f.name, 'transferring');
    const result = await part.run(lease.dataEndpoint(info), {
      ...this.#deps.transfer,
      throttle: this.#deps.throttle,
      signal,
      confirm: async () => {
        if (!f.confirmAfter) return { checksums: [] };
        const server = await lease.file(f.name, signal);
        return { size: server.size, checksums: server.checksumInfo ? [checksumFrom(server.checksumInfo, 'vCenter')] : [] };
      },
      onRetry: (e) => {
        events.emit('retry', { reason: e.reason });
        if (e.reason === 'checksum') log.warn({ file: f.name, err: e.error }, 'verification failed; downloading the file again');
        else log.warn({ file: f.name, attempt: e.attempt, err: e.error }, 'file transfer interrupted; resuming');
      },
      onVerifying: () => tracker.setStatus(f.name, 'verifying'),
      onRehash: (algorithm) => log.info({ file: f.name, algorithm }, 'hashing the file again for an algorithm learnt after the transfer'),
    });
    this.#results.set(f.name, result);
    tracker.setStatus(f.name, 'done');
  }

  async #readManifest(f: PlannedFile): Promise<Map<string, ExpectedChecksum>> {
    const { entries, malformed, tooLarge } = await readManifest(f.partPath);
    if (tooLarge !== undefined) this.#deps.log().warn({ file: f.name, size: tooLarge }, 'OVF manifest too large to read; not verifying against it');
    if (malformed.length > 0) this.#deps.log().warn({ file: f.name, malformed }, 'ignoring malformed OVF manifest lines');
    return entries;
  }
}
