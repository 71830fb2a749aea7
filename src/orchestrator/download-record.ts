import type { DownloadProgress, DownloadStateStore, FileProgress, RecordFields } from './state.ts';

/**
 * One attempt's writes to its download's Redis record (`state.ts`). Fields that can wait (the
 * state, the attempt number, the worker) are staged, and go with the next write that cannot: the
 * client token before `create`, the session after it, the planned files before any part exists,
 * the verified files before any rename, a progress report (every 2 s), and the outcome. A small
 * job so writes its record five times, the outcome's included, instead of twelve. Every write
 * reads back the cancel flag.
 */
export class DownloadRecord {
  readonly id: string;
  readonly #store: DownloadStateStore;
  readonly #onCancelFlag: () => void;
  #staged: RecordFields = {};

  /** `onCancelFlag`: a write found the download's cancel flag set. */
  constructor(store: DownloadStateStore, id: string, onCancelFlag: () => void) {
    this.#store = store;
    this.id = id;
    this.#onCancelFlag = onCancelFlag;
  }

  /** Fields for the next write, whichever it is; a later value of a field replaces an earlier one. */
  stage(fields: RecordFields): void {
    Object.assign(this.#staged, fields);
  }

  /** Writes `fields`, and whatever was staged, in one round trip. */
  write(fields: RecordFields = {}): Promise<void> {
    return this.#with(fields, (all) => this.#store.write(this.id, all));
  }

  /** Records `sessionId` as the download's session and as cldl's (`attachSession`), with `fields`. */
  attachSession(vcenter: string, sessionId: string, fields: RecordFields = {}): Promise<void> {
    return this.#with(fields, (all) => this.#store.attachSession(this.id, vcenter, sessionId, all));
  }

  saveProgress(progress: DownloadProgress, files: FileProgress[], fields: RecordFields = {}): Promise<void> {
    return this.#with(fields, (all) => this.#store.saveProgress(this.id, progress, files, all));
  }

  /** What is staged and not written: the outcome's write takes it along. */
  takeStaged(): RecordFields {
    const staged = this.#staged;
    this.#staged = {};
    return staged;
  }

  async #with(fields: RecordFields, write: (all: RecordFields) => Promise<{ cancelRequested: boolean }>): Promise<void> {
    const staged = this.takeStaged();
    let saved: { cancelRequested: boolean };
    try {
      saved = await write({ ...staged, ...fields });
    } catch (err) {
      this.#staged = { ...staged, ...this.#staged }; // for the outcome's write
      throw err;
    }
    if (saved.cancelRequested) this.#onCancelFlag();
  }
}
