import PQueue from 'p-queue';

export interface LimitOptions {
  /** File transfers running at once in this process, over all jobs. */
  transfersPerProcess: number;
  /** Download sessions open at once per vCenter from this process (vCenter allows 8 transfers per host). */
  sessionsPerVCenter: number;
}

/**
 * The process-wide bounds. Files per job are bounded by each job's own queue; these two are
 * shared by every job in the process.
 */
export class Limits {
  readonly transfers: PQueue;
  readonly #sessionsPerVCenter: number;
  readonly #sessions = new Map<string, PQueue>();

  constructor(options: LimitOptions) {
    this.transfers = new PQueue({ concurrency: options.transfersPerProcess });
    this.#sessionsPerVCenter = options.sessionsPerVCenter;
  }

  /** The queue that holds a slot for each open session on `vcenter`. */
  sessions(vcenter: string): PQueue {
    let q = this.#sessions.get(vcenter);
    if (!q) {
      q = new PQueue({ concurrency: this.#sessionsPerVCenter });
      this.#sessions.set(vcenter, q);
    }
    return q;
  }

  get activeTransfers(): number {
    return this.transfers.pending;
  }
}
