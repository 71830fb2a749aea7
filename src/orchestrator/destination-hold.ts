// Two downloads must never write one final path at once: an attempt holds its plan's paths from
// before any part exists until they are committed, and no longer than its worker lives.
import type { DownloadRecord } from './download-record.ts';
import { DestinationBusyError, LockLostError } from './errors.ts';
import type { FileHolds } from './file-holds.ts';
import type { PlannedFile } from './file-plan.ts';

export interface DestinationHoldDeps {
  /** The download id: the paths are held in its name. */
  key: string;
  holds: FileHolds;
  /** This attempt's writes to the download's record: the planned files go there with the hold. */
  record: DownloadRecord;
  /** The job's signal: a lost lock means the holds belong to whoever runs the download now. */
  signal: AbortSignal;
}

/**
 * One attempt's hold (`file-holds.ts`) on the final paths of its plan. It is taken while vCenter
 * prepares the files, refreshed with every progress report (so it outlives a long transfer, not a
 * dead worker), and released once the files are committed or the attempt ends.
 */
export class DestinationHold {
  readonly #deps: DestinationHoldDeps;
  #paths: string[] = [];

  constructor(deps: DestinationHoldDeps) {
    this.#deps = deps;
  }

  /**
   * Holds the plan's final paths while `prepare` runs, and records its files: a cancel or a failure
   * in any later attempt finds them all (recorded apart from progress: bytes resumed from disk are
   * counted only when their part is opened). Both sent at once, one wait; a download that finds its
   * files held records them all the same, which does no harm: it is requeued at once. Files
   * another download holds abort `prepare`'s signal and end in DestinationBusyError.
   */
  async take<T>(plan: readonly PlannedFile[], prepare: (busy: AbortSignal) => Promise<T>): Promise<T> {
    const busy = new AbortController();
    const holding = this.#take(plan).catch((err: unknown) => {
      busy.abort(err);
      throw err;
    });
    const [held, prepared] = await Promise.allSettled([holding, prepare(busy.signal)]);
    if (held.status === 'rejected') throw held.reason;
    if (prepared.status === 'rejected') throw prepared.reason;
    return prepared.value;
  }

  /** Keeps the paths held a while longer (the heartbeat's progress report calls it). */
  refresh(): Promise<void> {
    return this.#deps.holds.refresh(this.#deps.key, this.#paths);
  }

  /**
   * Lets go of the paths: once they are committed (nothing writes them any more), or when the
   * attempt ends. Not after a lost lock: the same download runs elsewhere now, under the same holds.
   */
  async release(): Promise<void> {
    const held = this.#paths;
    this.#paths = [];
    if (!(this.#deps.signal.reason instanceof LockLostError)) await this.#deps.holds.release(this.#deps.key, held);
  }

  async #take(plan: readonly PlannedFile[]): Promise<void> {
    const { holds, record, key } = this.#deps;
    const paths = plan.map((f) => f.finalPath);
    const [taken, recorded] = await Promise.allSettled([
      holds.take(key, paths),
      record.write({ state: 'preparing', plannedFiles: JSON.stringify(plan.map((f) => f.name)) }),
    ]);
    if (taken.status === 'rejected') throw taken.reason;
    const busy = taken.value;
    if (busy) throw new DestinationBusyError(busy.path, busy.holder);
    this.#paths = paths; // released when the attempt ends, whatever happens next
    if (recorded.status === 'rejected') throw recorded.reason;
  }
}
