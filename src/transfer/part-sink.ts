import type { Dispatcher } from 'undici';
import type { DownloadPart, Segment } from './download-part.ts';
import type { Throttle } from './throttle.ts';

export interface PartSinkOptions {
  /** Bytes gathered before one positioned write is issued. */
  batchBytes: number;
  /** Writes in flight before the socket is paused. */
  maxInFlight: number;
  /** Into a segment of the part; without one, onto the end of the part's prefix (hashed as it goes). */
  segment?: Segment | undefined;
  /** The file's (or the segment's) end: a byte past it fails the exchange with `overflow()`. */
  end: number;
  overflow: () => Error;
  /** Checks the status line and headers (and may restart the part); throws to refuse the answer. */
  accept: (status: number, headers: Record<string, string | string[] | undefined>) => void;
  signal?: AbortSignal | undefined;
  /** A bandwidth budget to draw from; none by default. */
  throttle?: Throttle | undefined;
}

interface Batch {
  bytes: number;
  landed: boolean;
}

/**
 * One HTTP answer's body into a part, as an undici dispatch handler: no stream objects between the
 * socket and the disk. Chunks are gathered into batches; each batch is one positioned writev on the
 * thread pool, several in flight, the socket paused while too many are. Batches land in any order;
 * the part learns of them in file order only, so that its position (and, for one stream, its
 * hashes, updated as each batch is issued) always describe a clean prefix to resume from.
 * `done` settles once the answer is over and no write is in flight.
 */
export class PartSink implements Dispatcher.DispatchHandler {
  readonly done: Promise<void>;
  readonly #part: DownloadPart;
  readonly #options: PartSinkOptions;
  readonly #queue: Batch[] = [];
  #controller: Dispatcher.DispatchController | undefined;
  #resolve!: () => void;
  #reject!: (err: Error) => void;
  #chunks: Buffer[] = [];
  #gathered = 0;
  /** The file offset of the next byte the answer brings. */
  #next = 0;
  /** Where the next batch goes. */
  #offset = 0;
  #inFlight = 0;
  #ended = false;
  #error: Error | undefined;
  /** A write failed after its bytes went into the hashes: the part must start over. */
  #hashesAhead = false;
  #onAbort: (() => void) | undefined;
  /** Bytes acquired from the throttle and not yet received. */
  #allowance = 0;
  #throttled = false;
  #settled = false;

  constructor(part: DownloadPart, options: PartSinkOptions) {
    this.#part = part;
    this.#options = options;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Stops the answer with `err`; what arrived so far is written first. */
  abort(err: Error): void {
    this.#fail(err);
  }

  /** Where the next byte received goes: bytes received, written or not, count (a stream's speed). */
  get receivedTo(): number {
    return this.#next;
  }

  /** True when a write failed after its bytes were hashed (the part then starts over). */
  get hashesAhead(): boolean {
    return this.#hashesAhead;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    const { signal } = this.#options;
    if (!signal) return;
    if (signal.aborted) return controller.abort(signal.reason as Error);
    this.#onAbort = () => controller.abort(signal.reason as Error);
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    try {
      this.#options.accept(status, headers);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    // After accept(): a 200 to a Range request restarted the part.
    this.#offset = this.#options.segment ? this.#options.segment.written : this.#part.position;
    this.#next = this.#offset;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#error) return;
    this.#next += chunk.length;
    if (this.#next > this.#options.end) return this.#fail(this.#options.overflow());
    this.#chunks.push(chunk);
    this.#gathered += chunk.length;
    if (this.#gathered >= this.#options.batchBytes) this.#flush();
    if (this.#options.throttle) this.#draw(chunk.length);
  }

  /** Counts received bytes against the budget; past the allowance the socket waits for more. */
  #draw(bytes: number): void {
    const throttle = this.#options.throttle;
    this.#allowance -= bytes;
    if (!throttle || this.#allowance >= 0 || this.#throttled) return;
    this.#throttled = true;
    this.#controller?.pause();
    const need = Math.max(throttle.leaseBytes, -this.#allowance);
    throttle.acquire(need, this.#options.signal).then(
      () => {
        this.#allowance += need;
        this.#throttled = false;
        if (this.#settled) return this.#refund();
        if (this.#inFlight < this.#options.maxInFlight && this.#controller?.paused && !this.#error) this.#controller.resume();
      },
      (err: Error) => this.#fail(err),
    );
  }

  onResponseEnd(): void {
    this.#ended = true;
    if (!this.#error) this.#flush();
    this.#settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#ended = true;
    // The connection broke: what arrived is good, and a resume starts after it.
    if (!this.#error) this.#flush();
    this.#error ??= error;
    this.#settle();
  }

  #flush(): void {
    if (this.#gathered === 0) return;
    const buffers = this.#chunks;
    const bytes = this.#gathered;
    const at = this.#offset;
    this.#chunks = [];
    this.#gathered = 0;
    this.#offset += bytes;
    const batch: Batch = { bytes, landed: false };
    this.#queue.push(batch);
    this.#inFlight++;
    // The write goes to the thread pool at once; hashing meanwhile keeps the main thread's work off
    // the disk's critical path.
    const write = this.#part.write(buffers, at);
    if (!this.#options.segment) for (const b of buffers) this.#part.hashAhead(b);
    write.then(
      () => this.#landed(batch),
      (err: Error) => {
        if (!this.#options.segment) this.#hashesAhead = true;
        this.#inFlight--;
        this.#fail(err, false);
      },
    );
    if (this.#inFlight >= this.#options.maxInFlight) this.#controller?.pause();
  }

  #landed(batch: Batch): void {
    batch.landed = true;
    this.#inFlight--;
    // In file order only: a batch that lands before an earlier one waits for it.
    while (this.#queue[0]?.landed) {
      const head = this.#queue.shift()!;
      if (this.#hashesAhead) continue;
      if (this.#options.segment) this.#part.landed(this.#options.segment, head.bytes);
      else this.#part.advance(head.bytes);
    }
    if (this.#inFlight < this.#options.maxInFlight && !this.#throttled && this.#controller?.paused && !this.#error) this.#controller.resume();
    this.#settle();
  }

  #fail(err: Error, keepGathered = true): void {
    // Bytes received before the failure are the file's: written, they save a resume from fetching
    // them again. After a failed write they are dropped (they were not hashed either).
    if (keepGathered && !this.#error) this.#flush();
    this.#error ??= err;
    this.#chunks = [];
    this.#gathered = 0;
    if (this.#controller && !this.#controller.aborted && !this.#ended) this.#controller.abort(err);
    this.#settle();
  }

  /**
   * Bytes drawn and never received go back: every answer ends inside a lease, and a cap shared by
   * many short answers (segments, small files) would otherwise hold well below its rate.
   */
  #refund(): void {
    if (this.#allowance > 0) this.#options.throttle?.refund(this.#allowance);
    this.#allowance = 0;
  }

  #settle(): void {
    if (!this.#ended && !this.#error) return;
    if (this.#inFlight > 0 || this.#settled) return;
    this.#settled = true;
    this.#refund();
    if (this.#onAbort) this.#options.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#error) this.#reject(this.#error);
    else this.#resolve();
  }
}
