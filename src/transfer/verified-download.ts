import type { BackoffOptions } from '../backoff.ts';
import type { DataEndpoint } from '../vsphere/index.ts';
import type { DestinationDir } from './destination-dir.ts';
import type { Throttle } from './throttle.ts';
import { DownloadPart, type DigestAlgorithm } from './download-part.ts';
import { CldlError } from '../cldl-error.ts';
import { ChecksumMismatchError, DiskFullError, TransferError } from './errors.ts';
import { downloadFile, type RetryEvent, type SegmentOptions } from './file-download.ts';
import type { ByteCounter } from './byte-counter.ts';
import { assertChecksum, hashFile, type ExpectedChecksum } from './verify.ts';

/** What a file must be: its size when known, and the checksums someone vouches for. */
export interface Expectations {
  size?: number | undefined;
  checksums: readonly ExpectedChecksum[];
}

/** A file on disk whose bytes were checked: what a download reports for it. */
export interface VerifiedFile {
  name: string;
  size: number;
  checksumAlgorithm: string;
  checksum: string;
  /** True when vCenter (or the OVF manifest) vouched for the checksum and it matched. */
  verified: boolean;
}

export interface OpenVerifiedOptions {
  fileName: string;
  /** The directory the part and the final file live in: it checks every open and rename. */
  dir: DestinationDir;
  partPath: string;
  /** Known before the transfer: they choose the hashes computed on the fly. */
  expected: Expectations;
  /** Bumped as bytes reach the disk; whoever reports progress reads it. */
  counter: ByteCounter;
}

export interface VerifiedRunOptions {
  attempts: number;
  backoff: BackoffOptions;
  highWaterMark: number;
  /** Fetch large files over several connections when the server honours Range. */
  segments?: SegmentOptions | undefined;
  /** A bandwidth budget to draw every byte from. */
  throttle?: Throttle | undefined;
  signal: AbortSignal;
  /**
   * What the server vouches for once the bytes are on disk. vCenter fills a file's checksum_info
   * (and sometimes its size) only after the download completed, so it is asked then.
   */
  confirm: () => Promise<Expectations>;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** The bytes are all on disk; checking them begins. */
  onVerifying?: (() => void) | undefined;
  /** An algorithm learnt after the transfer: the file is read once more to hash it. */
  onRehash?: ((algorithm: DigestAlgorithm) => void) | undefined;
}

/**
 * One file to disk, verified: streamed into its part (resumable across attempts, sessions and
 * processes), hashed on the fly with every algorithm known in advance, then checked for size and
 * against every checksum vouched for, before or after the transfer. A mismatch downloads the file
 * once more from byte 0 (bytes left by a crashed process may have been bad); the same mismatch
 * twice means the source is bad, and retrying cannot help. `commit` gives the part its final name.
 */
export class VerifiedDownload {
  readonly fileName: string;
  readonly #dir: DestinationDir;
  readonly #part: DownloadPart;
  readonly #expected: Expectations;

  private constructor(fileName: string, dir: DestinationDir, part: DownloadPart, expected: Expectations) {
    this.fileName = fileName;
    this.#dir = dir;
    this.#part = part;
    this.#expected = expected;
  }

  /** Opens the part, keeping the bytes an earlier attempt left (they are hashed once, from disk). */
  static async open(options: OpenVerifiedOptions): Promise<VerifiedDownload> {
    // SHA-1 always: a download reports a checksum even when nobody vouches for one.
    const algorithms = new Set<DigestAlgorithm>(['sha1', ...options.expected.checksums.map((c) => c.algorithm)]);
    const part = await DownloadPart.open(options.partPath, {
      algorithms: [...algorithms],
      resume: true,
      expectedSize: options.expected.size,
      counter: options.counter,
      open: (path, flags, mode) => options.dir.openFile(path, flags, mode),
    }).catch((err: unknown) => {
      throw asFileError(err, options.fileName, options.partPath);
    });
    return new VerifiedDownload(options.fileName, options.dir, part, options.expected);
  }

  get path(): string {
    return this.#part.path;
  }

  /** Bytes found on disk when the part was opened. */
  get resumedFrom(): number {
    return this.#part.resumedFrom;
  }

  /** Downloads what is missing from `source` and verifies the whole file. */
  async run(source: DataEndpoint, options: VerifiedRunOptions): Promise<VerifiedFile> {
    try {
      return await this.#run(source, options);
    } catch (err) {
      throw asFileError(err, this.fileName, this.#part.path);
    }
  }

  async #run(source: DataEndpoint, options: VerifiedRunOptions): Promise<VerifiedFile> {
    const part = this.#part;
    const transfer = {
      fileName: this.fileName,
      expectedSize: this.#expected.size,
      attempts: options.attempts,
      backoff: options.backoff,
      highWaterMark: options.highWaterMark,
      segments: options.segments,
      throttle: options.throttle,
      signal: options.signal,
      onRetry: options.onRetry,
    };
    for (let verifications = 1; ; verifications++) {
      await downloadFile(part, source, transfer);
      options.onVerifying?.();
      try {
        return await this.#verify(await options.confirm(), options);
      } catch (err) {
        const mismatch = err instanceof ChecksumMismatchError || (err instanceof TransferError && err.code === 'CLDL_SIZE_MISMATCH');
        if (!mismatch) throw err;
        if (verifications >= 2) {
          throw new TransferError(err.code, `${err.message} (again after downloading the file a second time)`, { cause: err, fileName: this.fileName });
        }
        options.onRetry?.({ fileName: this.fileName, attempt: verifications, reason: 'checksum', error: err });
        part.restart();
      }
    }
  }

  async #verify(confirmed: Expectations, options: VerifiedRunOptions): Promise<VerifiedFile> {
    const part = this.#part;
    const size = confirmed.size ?? this.#expected.size;
    if (size !== undefined && size !== part.position) {
      throw new TransferError('CLDL_SIZE_MISMATCH', `${this.fileName}: ${part.position} bytes on disk, but vCenter says ${size}`, {
        fileName: this.fileName,
        retryable: true,
        restart: true,
      });
    }
    // The server's word after the transfer comes first: it names the algorithm the result reports.
    const checks = [...confirmed.checksums, ...this.#expected.checksums];
    const digests = part.digests();
    for (const check of checks) {
      let actual = digests[check.algorithm];
      if (actual === undefined) {
        options.onRehash?.(check.algorithm);
        actual = await hashFile(part.path, check.algorithm, options.signal);
        digests[check.algorithm] = actual;
      }
      assertChecksum(this.fileName, check, actual);
    }
    const reported = checks[0]?.algorithm ?? 'sha1';
    return {
      name: this.fileName,
      size: part.position,
      checksumAlgorithm: reported.toUpperCase(),
      checksum: digests[reported]!,
      verified: checks.length > 0,
    };
  }

  /** Gives the verified part its final name (atomically; never over an existing file without `overwrite`). */
  async commit(finalPath: string, overwrite: boolean): Promise<void> {
    await VerifiedDownload.commitAll(this.#dir, [{ download: this, finalPath }], overwrite);
  }

  /**
   * Gives verified parts of one directory their final names, and syncs the directory once for all
   * of them: a download of many small files pays one directory fsync, not one a file.
   */
  static async commitAll(dir: DestinationDir, files: ReadonlyArray<{ download: VerifiedDownload; finalPath: string }>, overwrite: boolean): Promise<void> {
    const fail = (f: { download: VerifiedDownload; finalPath: string }) => (err: unknown) => {
      throw asFileError(err, f.download.fileName, f.finalPath);
    };
    for (const f of files) {
      if (f.download.#dir !== dir) throw new Error(`${f.download.fileName} is not in ${dir.path}`);
      await f.download.#part.close().catch(fail(f));
    }
    await dir.commitAll(
      files.map((f) => ({ partPath: f.download.#part.path, finalPath: f.finalPath })),
      overwrite,
    ).catch((err: unknown) => {
      // A rename names the part it failed on; the directory's fsync names no file of its own.
      const { path: failed, dest } = err as { path?: unknown; dest?: unknown };
      const f = files.find((x) => x.download.#part.path === failed || x.finalPath === dest || x.finalPath === failed);
      throw f ? asFileError(err, f.download.fileName, f.finalPath) : asFileError(err, files.map((x) => x.download.fileName).join(', '), dir.path);
    });
    for (const f of files) await f.download.#part.forgetSegments().catch(fail(f));
  }

  /** Closes the part, keeping it on disk for a later resume. */
  close(): Promise<void> {
    return this.#part.close().catch(() => undefined);
  }

  /** Closes and removes the part: for cancellation and permanent failure. */
  discard(): Promise<void> {
    return this.#part.discard();
  }
}

/**
 * A filesystem error as cldl's: a full disk is DiskFullError (an operator must free space), any
 * other (permissions, a part removed behind cldl's back, a read-only volume) fails the download at
 * once, naming the call and the path: retrying the same call on the same disk would fail the same way.
 */
function asFileError(err: unknown, fileName: string, path: string): unknown {
  if (err instanceof CldlError || !(err instanceof Error)) return err;
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (typeof syscall !== 'string') return err;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new DiskFullError(fileName, path, { cause: err });
  return new TransferError('CLDL_FILE_IO', `${fileName}: ${syscall} failed on ${path}: ${err.message}`, { cause: err, fileName });
}
