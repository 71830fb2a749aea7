// Bytes on disk are only worth resuming if they belong to the content the session serves: an item
// can change between two sessions of one download, and then its parts are someone else's prefix.
import type { Logger } from 'pino';
import type { DownloadRecord } from './download-record.ts';
import type { ProgressTracker } from './progress-tracker.ts';

export interface ContentVersionDeps {
  /** This attempt's writes to the download's record: the version the bytes belong to goes there. */
  record: DownloadRecord;
  tracker: ProgressTracker;
  /** Closes and removes every part of the download (`DownloadJob.discardParts`). */
  discardParts(): Promise<void>;
  /** The job's logger as it is now. */
  log(): Logger;
}

/**
 * Which content version the bytes on disk belong to. A session pins the item's content version;
 * bytes an earlier session wrote for another version are not a prefix of this one's files: they
 * are discarded, and the download starts over.
 */
export class ContentVersionCheck {
  readonly #deps: ContentVersionDeps;
  #version: string | undefined;
  #startedOver = false;

  /** `recorded`: the version the download's record holds, if any. */
  constructor(recorded: string | undefined, deps: ContentVersionDeps) {
    this.#version = recorded;
    this.#deps = deps;
  }

  /** True once discarded bytes mean nothing an earlier attempt did counts any more. */
  get startedOver(): boolean {
    return this.#startedOver;
  }

  /** The session's version went to the record with the session (`SessionLease.acquire`). */
  recorded(version: string | undefined): void {
    this.#version = version;
  }

  /** Compares the session's `version` with the bytes' one: another one discards the bytes. */
  async check(version: string | undefined): Promise<void> {
    if (version === undefined || version === this.#version) return;
    if (this.#version !== undefined) {
      this.#deps.log().warn({ from: this.#version, to: version }, "the item's content changed since the bytes on disk were written; starting over");
      await this.#deps.discardParts();
      this.#deps.tracker.reset();
      this.#startedOver = true;
    }
    this.#version = version;
    await this.#deps.record.write({ contentVersion: version });
  }
}
