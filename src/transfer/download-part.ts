import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { HashingFileWriter, type ByteCounter } from './hashing-file-writer.ts';

/** Node's names for the checksum algorithms Content Library uses. */
export type DigestAlgorithm = 'sha1' | 'md5' | 'sha256' | 'sha512';

export interface OpenPartOptions {
  algorithms: readonly DigestAlgorithm[];
  /** Keep the bytes a previous attempt or process left, instead of starting from zero. */
  resume: boolean;
  /** When known, a leftover longer than this is not a prefix of the file and is dropped. */
  expectedSize?: number | undefined;
  counter: ByteCounter;
  /** How to open the file (a DestinationDir checks where it lands); plain open() by default. */
  open?: (path: string, flags: number, mode: number) => Promise<FileHandle>;
}

/** Feeds every byte of `source`, in order, to each of `hashes`: hashing from disk, streamed. */
export async function feedHashes(source: AsyncIterable<Buffer>, hashes: readonly Hash[]): Promise<void> {
  for await (const chunk of source) for (const h of hashes) h.update(chunk);
}

/**
 * A file being downloaded: its `.part` on disk, how many bytes of it are good, and the running
 * hashes of exactly those bytes. It outlives single HTTP exchanges (and download sessions), so a
 * resumed transfer continues both the bytes and the hashes without reading anything twice.
 */
export class DownloadPart {
  readonly path: string;
  /** A strong ETag from the first answer, sent as If-Range when resuming. */
  etag: string | undefined;
  readonly #file: FileHandle;
  readonly #algorithms: readonly DigestAlgorithm[];
  readonly #counter: ByteCounter;
  #hashes: Hash[];
  #position = 0;
  /** Where this process started: bytes found on disk from an earlier process. */
  readonly resumedFrom: number;

  private constructor(path: string, file: FileHandle, options: OpenPartOptions, position: number, hashes: Hash[]) {
    this.path = path;
    this.#file = file;
    this.#algorithms = options.algorithms;
    this.#counter = options.counter;
    this.#hashes = hashes;
    this.#position = position;
    this.resumedFrom = position;
  }

  /**
   * Opens (creating) `path` without following a symlink planted there. Bytes left by an earlier
   * process are hashed once, from disk: hash state cannot survive a process, and this is the only
   * read a resume ever costs.
   */
  static async open(path: string, options: OpenPartOptions): Promise<DownloadPart> {
    const file = await (options.open ?? open)(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o640);
    try {
      const hashes = options.algorithms.map((a) => createHash(a));
      let size = (await file.stat()).size;
      if (!options.resume || (options.expectedSize !== undefined && size > options.expectedSize)) {
        if (size > 0) await file.truncate(0);
        size = 0;
      }
      if (size > 0) {
        await feedHashes(file.createReadStream({ start: 0, end: size - 1, autoClose: false, highWaterMark: 1 << 20 }), hashes);
      }
      options.counter.bytes += size;
      return new DownloadPart(path, file, options, size, hashes);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  get position(): number {
    return this.#position;
  }

  get algorithms(): readonly DigestAlgorithm[] {
    return this.#algorithms;
  }

  /**
   * A writer that appends at the current position, refusing (with `onOverflow()`) any byte past
   * `limit`. Call `settle()` with it once it has closed.
   */
  writer(highWaterMark: number, limit?: number, onOverflow?: () => Error): HashingFileWriter {
    return new HashingFileWriter(this.#file, this.#position, this.#hashes, this.#counter, highWaterMark, limit, onOverflow);
  }

  /**
   * Takes over what `writer` wrote; only valid once the writer emitted 'close'. After a failed
   * write the hashes cover bytes the file lacks, so the part starts over.
   */
  settle(writer: HashingFileWriter): void {
    this.#position = writer.position;
    if (writer.hashesAhead) this.restart();
  }

  /** Starts over from byte 0: the server ignored our Range, or the bytes are suspect. */
  restart(): void {
    this.#counter.bytes -= this.#position;
    this.#position = 0;
    this.#hashes = this.#algorithms.map((a) => createHash(a));
    this.etag = undefined;
  }

  /** Hex digests of the bytes so far, without ending the running hashes. */
  digests(): Partial<Record<DigestAlgorithm, string>> {
    const out: Partial<Record<DigestAlgorithm, string>> = {};
    this.#algorithms.forEach((a, i) => (out[a] = this.#hashes[i]!.copy().digest('hex')));
    return out;
  }

  /** Cuts a stale tail (after a restart) and makes the bytes durable. */
  async flush(): Promise<void> {
    await this.#file.truncate(this.#position);
    await this.#file.datasync();
  }

  async close(): Promise<void> {
    await this.#file.close();
  }

  /** Closes and removes the `.part`: for cancellation and permanent failure. */
  async discard(): Promise<void> {
    await this.#file.close().catch(() => undefined);
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
