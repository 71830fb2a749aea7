import type { ByteCounter } from '../transfer/index.ts';
import type { DownloadProgress, FileProgress } from './state.ts';

const RATE_WINDOW_MS = 10_000;

/**
 * The progress of one download: a byte counter per file (bumped by the transfer layer, nothing
 * else on the byte path), read by the heartbeat to report percent and rate.
 */
export class ProgressTracker {
  readonly #files = new Map<string, FileProgress & { counter: ByteCounter }>();
  readonly #samples: Array<[number, number]> = [];

  /** The byte counter of `name`, registering the file on first sight. */
  file(name: string, size: number | undefined): ByteCounter {
    const known = this.#files.get(name);
    if (known) return known.counter;
    const counter: ByteCounter = { bytes: 0 };
    this.#files.set(name, { name, size, bytes: 0, status: 'pending', counter });
    return counter;
  }

  /** The files registered so far. */
  names(): string[] {
    return [...this.#files.keys()];
  }

  /** Every file back to no bytes: the bytes on disk were discarded. */
  reset(): void {
    for (const f of this.#files.values()) {
      f.counter.bytes = 0;
      f.status = 'pending';
    }
  }

  setStatus(name: string, status: FileProgress['status']): void {
    const f = this.#files.get(name);
    if (f) f.status = status;
  }

  get bytesDone(): number {
    let done = 0;
    for (const f of this.#files.values()) done += f.counter.bytes;
    return done;
  }

  /** Percent of bytes, held at 99 until every file is verified: 100 means done. */
  percent(): number {
    const total = this.#total();
    const files = [...this.#files.values()];
    if (files.length > 0 && files.every((f) => f.status === 'done')) return 100;
    if (total === 0) return 0;
    return Math.min(99, Math.floor((100 * this.bytesDone) / total));
  }

  snapshot(): { progress: DownloadProgress; files: FileProgress[] } {
    const now = Date.now();
    const done = this.bytesDone;
    this.#samples.push([now, done]);
    while (this.#samples.length > 2 && now - this.#samples[0]![0] > RATE_WINDOW_MS) this.#samples.shift();
    const [t0, b0] = this.#samples[0]!;
    const bytesPerSecond = now > t0 ? Math.max(0, Math.round(((done - b0) * 1000) / (now - t0))) : 0;
    const files = [...this.#files.values()].map(({ name, size, counter, status }) => ({ name, size, bytes: counter.bytes, status }));
    return {
      progress: {
        bytesDone: done,
        bytesTotal: this.#total(),
        percent: this.percent(),
        filesDone: files.filter((f) => f.status === 'done').length,
        filesTotal: files.length,
        bytesPerSecond,
      },
      files,
    };
  }

  #total(): number {
    let total = 0;
    for (const f of this.#files.values()) total += f.size ?? f.counter.bytes;
    return total;
  }
}
