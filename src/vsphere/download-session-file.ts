import { setTimeout as sleep } from 'node:timers/promises';
import { isCldlError } from '../cldl-error.ts';
import type { VapiClient } from './client.ts';
import { requireText } from './download-session.ts';
import { FilePreparationError, VapiProtocolError } from './errors.ts';
import type { ClientLogger } from './logger.ts';
import type { DownloadFileInfo, EndpointType, PreparedFileInfo } from './types.ts';

export interface WaitPreparedOptions {
  /** Give up after this long (CLDL_PREPARE_TIMEOUT). */
  timeoutMs: number;
  /**
   * First poll delay until this vCenter's preparation time is learnt; each next poll comes 1.5 times
   * later than the one before, up to `maxPollMs`.
   */
  pollMs?: number;
  maxPollMs?: number;
  signal?: AbortSignal;
  /**
   * The files as the caller just saw them (the answers to `prepare`, a listing made a moment ago):
   * the first round reads these instead of asking again. Without them, the first round lists at once.
   */
  known?: readonly DownloadFileInfo[];
}

/** The shortest wait between polls, and the shortest preparation time learnt. */
const MIN_POLL_MS = 1;

/** Content Library's DownloadSession.File service: the files of a session, their preparation and endpoints. */
export class DownloadSessionFiles {
  readonly #vapi: VapiClient;
  readonly #logger: ClientLogger | undefined;
  /**
   * How long this vCenter takes to prepare files, as last observed: the first poll waits about that
   * long. Each wait that found the files ready at its first poll tries a little shorter next time;
   * one that needed more polls sets it to what it took. A small download otherwise spends a fixed
   * first delay (or an extra `list`) on every file, whatever the vCenter.
   */
  #prepareMs: number | undefined;

  constructor(vapi: VapiClient, logger?: ClientLogger) {
    this.#vapi = vapi;
    this.#logger = logger;
  }

  list(sessionId: string, signal?: AbortSignal): Promise<DownloadFileInfo[]> {
    requireText('sessionId', sessionId);
    return this.#vapi.run((d) => d.listFiles(sessionId), signal);
  }

  get(sessionId: string, fileName: string, signal?: AbortSignal): Promise<DownloadFileInfo> {
    requireText('sessionId', sessionId);
    requireText('fileName', fileName);
    return this.#vapi.run((d) => d.getFile(sessionId, fileName), signal);
  }

  /** Asks vCenter to make `fileName` downloadable; `waitPrepared` says when it is. */
  prepare(sessionId: string, fileName: string, endpointType: EndpointType = 'HTTPS', signal?: AbortSignal): Promise<DownloadFileInfo> {
    requireText('sessionId', sessionId);
    requireText('fileName', fileName);
    return this.#vapi.run((d) => d.prepareFile(sessionId, fileName, endpointType), signal);
  }

  /**
   * Polls until every named file is PREPARED and returns their infos (with download endpoints) in
   * the order asked. One `list` call a round serves all files; the first round uses `known` when
   * given (a vCenter that prepares at once said PREPARED in its answer to `prepare`: no poll at all).
   * A file in ERROR stops the wait with the server's message; transient errors while polling are
   * ridden out until the timeout.
   */
  async waitPrepared(sessionId: string, fileNames: readonly string[], options: WaitPreparedOptions): Promise<PreparedFileInfo[]> {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    const maxDelay = options.maxPollMs ?? 5000;
    const firstDelay = Math.min(maxDelay, this.#prepareMs ?? options.pollMs ?? 25);
    let delay = firstDelay;
    const ready = new Map<string, PreparedFileInfo>();
    let last = new Map<string, string>();
    let known = options.known;
    let polls = 0;

    for (;;) {
      try {
        const listed = known === undefined;
        const infos = known ?? (await this.list(sessionId, options.signal));
        known = undefined;
        const byName = new Map(infos.map((f) => [f.name, f]));
        last = new Map(infos.map((f) => [f.name, f.status]));
        for (const name of fileNames) {
          if (ready.has(name)) continue;
          // A listing without the name is odd: `get` tells. What the caller knew may just be partial.
          const info = byName.get(name) ?? (listed ? await this.get(sessionId, name, options.signal) : undefined);
          if (info === undefined) continue;
          if (info.status === 'ERROR') {
            throw new FilePreparationError(
              'CLDL_PREPARE_FAILED',
              name,
              `vCenter could not prepare ${name} for download: ${info.errorMessage ?? 'no reason given'}`,
            );
          }
          if (info.status !== 'PREPARED') continue;
          // Some servers list files without endpoints; `get` has them.
          const full = info.downloadEndpoint ? info : await this.get(sessionId, name, options.signal);
          const { downloadEndpoint } = full;
          if (!downloadEndpoint) throw new VapiProtocolError('file.get', `${name} is PREPARED but has no download_endpoint`);
          ready.set(name, { ...full, downloadEndpoint });
        }
        if (ready.size === fileNames.length) {
          if (polls > 0) this.#learn(polls === 1 ? firstDelay * 0.8 : Date.now() - started, maxDelay);
          return fileNames.map((n) => ready.get(n)!);
        }
      } catch (err) {
        if (options.signal?.aborted || !isCldlError(err) || !err.retryable) throw err;
        this.#logger?.warn({ err, sessionId }, 'polling file preparation failed; trying again');
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const pending = fileNames.filter((n) => !ready.has(n));
        const name = pending[0]!;
        throw new FilePreparationError(
          'CLDL_PREPARE_TIMEOUT',
          name,
          `vCenter did not finish preparing ${pending.map((n) => `${n} (${last.get(n) ?? 'unknown'})`).join(', ')} ` +
            `within ${Math.round(options.timeoutMs / 1000)} s`,
        );
      }
      await sleep(Math.min(delay, left), undefined, { signal: options.signal });
      polls++;
      delay = Math.min(Math.max(MIN_POLL_MS, Math.round(delay * 1.5)), maxDelay);
    }
  }

  /** What a wait that needed polling taught about this vCenter's preparation time. */
  #learn(ms: number, maxDelay: number): void {
    this.#prepareMs = Math.min(maxDelay, Math.max(MIN_POLL_MS, Math.round(ms)));
  }
}
