import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/** Bytes on disk, bumped by writers and read by whoever reports progress; no callback per chunk. */
export interface ByteCounter {
  bytes: number;
}

/**
 * A Writable that appends to an open file at a known position and feeds the same bytes to hashes.
 *
 * Chunks are batched by `_writev` into one positioned writev, so a highWaterMark of a few hundred
 * KiB means few syscalls and a socket that keeps reading while the disk writes. Bytes are hashed
 * while their write is in flight and counted only once it landed, so after every write `position`
 * and the hashes describe exactly the bytes on disk: a transfer that breaks can resume from
 * `position` with the same hash objects. A failed write leaves the hashes ahead (`hashesAhead`).
 */
export class HashingFileWriter extends Writable {
  readonly #file: FileHandle;
  readonly #hashes: readonly Hash[];
  readonly #counter: ByteCounter;
  #position: number;
  readonly #limit: number;
  readonly #onOverflow: () => Error;
  #inflight: Promise<void> | undefined;
  #hashesAhead = false;

  /**
   * `limit` is the size the file must have: a byte past it is refused with `onOverflow()`, at once,
   * so a server that streams junk past the end cannot grow the part (or make us hash the junk).
   */
  constructor(
    file: FileHandle,
    position: number,
    hashes: readonly Hash[],
    counter: ByteCounter,
    highWaterMark: number,
    limit = Infinity,
    onOverflow: () => Error = () => new Error('more bytes than the file holds'),
  ) {
    super({ highWaterMark, decodeStrings: false });
    this.#file = file;
    this.#position = position;
    this.#hashes = hashes;
    this.#counter = counter;
    this.#limit = limit;
    this.#onOverflow = onOverflow;
  }

  /** Bytes of the file that are written and hashed. */
  get position(): number {
    return this.#position;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#track(this.#append([chunk]), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.#track(this.#append(chunks.map((c) => c.chunk)), callback);
  }

  /**
   * A destroyed writer (the connection broke) closes only once its last write has landed, so a
   * retry that reads `position` after 'close' cannot race a late write into the hashes.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const inflight = this.#inflight;
    if (!inflight) return callback(error);
    inflight.then(
      () => callback(error),
      () => callback(error),
    );
  }

  #track(write: Promise<void>, callback: (error?: Error | null) => void): void {
    // `write` started before we know it fits: #append checks the limit before touching the file.
    this.#inflight = write;
    write.then(
      () => {
        this.#inflight = undefined;
        callback();
      },
      (err: Error) => {
        this.#inflight = undefined;
        callback(err);
      },
    );
  }

  /**
   * True once a write failed after its bytes were hashed: the hashes then describe more than the
   * file holds, and the part must start over (`DownloadPart.settle` does).
   */
  get hashesAhead(): boolean {
    return this.#hashesAhead;
  }

  async #append(buffers: Buffer[]): Promise<void> {
    let total = 0;
    for (const b of buffers) total += b.length;
    if (this.#position + total > this.#limit) throw this.#onOverflow();
    // The write goes to the thread pool at once; hashing meanwhile keeps the main thread's work
    // off the disk's critical path (hashing after the write landed cost a third of the throughput).
    const written = this.#writeAll(buffers, total);
    for (const b of buffers) for (const h of this.#hashes) h.update(b);
    try {
      await written;
    } catch (err) {
      this.#hashesAhead = true;
      throw err;
    }
    this.#position += total;
    this.#counter.bytes += total;
  }

  async #writeAll(buffers: Buffer[], total: number): Promise<void> {
    let pending = buffers;
    let done = 0;
    // A positioned writev may write less than asked; carry on from where it stopped.
    while (done < total) {
      const { bytesWritten } = await this.#file.writev(pending, this.#position + done);
      done += bytesWritten;
      if (done < total) pending = remainder(buffers, done);
    }
  }
}

function remainder(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
