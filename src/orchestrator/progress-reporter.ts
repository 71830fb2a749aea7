// BullMQ and Redis should see a download's progress as it goes, and the worker's byte metrics
// should count each byte once: what was reported last is remembered here, apart from the bytes.
import type { EventEmitter } from 'node:events';
import type { DownloadRecord } from './download-record.ts';
import type { OrchestratorEvents } from './events.ts';
import type { ProgressTracker } from './progress-tracker.ts';

export interface ProgressReporterDeps {
  /** The BullMQ job (the slice of it `JobHandle` names). */
  job: { updateProgress(progress: object): Promise<void> };
  /** This attempt's writes to the download's record: the progress goes there. */
  record: DownloadRecord;
  tracker: ProgressTracker;
  /** `bytes` carries what reached disk since the last report. */
  events: EventEmitter<OrchestratorEvents>;
}

/**
 * One download's progress reports, read off its tracker: to BullMQ and Redis on the heartbeat's
 * report interval, and a last one once every file is committed.
 */
export class ProgressReporter {
  readonly #deps: ProgressReporterDeps;
  #reportedBytes = 0;
  /** Whether BullMQ was told any progress: then it hears the last one too. */
  #reported = false;

  constructor(deps: ProgressReporterDeps) {
    this.#deps = deps;
  }

  /** Progress to BullMQ and Redis; the record's write reads back the cancel flag (a pub/sub notice may have been missed). */
  async report(): Promise<void> {
    const { progress, files } = this.#deps.tracker.snapshot();
    this.#countBytes(progress.bytesDone);
    this.#reported = true;
    await Promise.all([this.#deps.job.updateProgress(progress), this.#deps.record.saveProgress(progress, files)]);
  }

  /**
   * The last progress, once every file is committed: to BullMQ only if it heard some before (a
   * download over within one report interval never updates its job's progress); to Redis with the
   * outcome (`DownloadJob.outcomeFields`).
   */
  async reportLast(): Promise<void> {
    const { progress } = this.#deps.tracker.snapshot();
    this.#countBytes(progress.bytesDone);
    if (this.#reported) await this.#deps.job.updateProgress(progress);
  }

  #countBytes(done: number): void {
    const delta = done - this.#reportedBytes;
    this.#reportedBytes = done;
    if (delta > 0) this.#deps.events.emit('bytes', delta);
  }
}
