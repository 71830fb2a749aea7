import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import type { ByteCounter } from './byte-counter.ts';

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

/** One range of a file fetched over a connection of its own: `[start, end)`, `written` bytes of it on disk. */
export interface Segment {
  readonly start: number;
  readonly end: number;
  /** Absolute offset up to which this segment's bytes have landed. */
  written: number;
}

/** Feeds every byte of `source`, in order, to each of `hashes`: hashing from disk, streamed. */
export async function feedHashes(source: AsyncIterable<Buffer>, hashes: readonly Hash[]): Promise<void> {
  for await (const chunk of source) for (const h of hashes) h.update(chunk);
}

const HASH_READ = 4 << 20;

/**
 * A file being downloaded: its part on disk, which of its bytes are good, and the running hashes
 * of exactly the good prefix. It outlives single HTTP exchanges (and download sessions), so a
 * resumed transfer continues both the bytes and the hashes without reading anything twice.
 *
 * Fetched as one stream, the good bytes are a prefix, hashed as they arrive. Fetched in segments
 * (several connections, each its own range), the good bytes are each segment's written prefix;
 * they are recorded in a sidecar file (`PART.segments`) so that a process killed mid-way resumes
 * each segment where it stopped, and the hashes follow the file's contiguous prefix by reading it
 * back from disk as it grows.
 */
export class DownloadPart {
  readonly path: string;
  /** A strong ETag from the first answer, sent as If-Range when resuming. */
  etag: string | undefined;
  /** Where this process started: bytes found on disk from an earlier process. */
  readonly resumedFrom: number;
  readonly #file: FileHandle;
  readonly #algorithms: readonly DigestAlgorithm[];
  readonly #counter: ByteCounter;
  #hashes: Hash[];
  /** Bytes of the file's prefix that are on disk and hashed. */
  #position: number;
  #segments: Segment[] | undefined;
  #hashing: Promise<void> | undefined;
  #sidecarDirty = false;
  /**
   * Bytes of the segments (the prefix among them) the counter holds: those the sidecar last
   * recorded. Bytes landed since are not counted: a resume would fetch them again.
   */
  #counted = 0;
  #dropSidecar = false;

  private constructor(path: string, file: FileHandle, options: OpenPartOptions, position: number, hashes: Hash[], segments: Segment[] | undefined, resumed: number) {
    this.path = path;
    this.#file = file;
    this.#algorithms = options.algorithms;
    this.#counter = options.counter;
    this.#hashes = hashes;
    this.#position = position;
    this.#segments = segments;
    this.#counted = segments ? resumed : 0;
    this.resumedFrom = resumed;
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
      // One read tells all: most parts are new and have no record of segments at all.
      const sidecar = await readSidecar(path, options.expectedSize);
      // A part fetched in segments has holes: without its (valid) record, its size means nothing.
      if (!options.resume || sidecar.state === 'invalid' || (options.expectedSize !== undefined && size > options.expectedSize)) {
        if (size > 0) await file.truncate(0);
        size = 0;
      }
      let segments: Segment[] | undefined;
      let prefix = size;
      if (sidecar.state === 'valid' && options.resume) {
        segments = sidecar.segments;
        prefix = contiguous(segments);
      } else if (sidecar.state !== 'absent') {
        await unlink(sidecarPath(path)).catch(() => undefined);
      }
      if (prefix > 0) await feedHashes(file.createReadStream({ start: 0, end: prefix - 1, autoClose: false, highWaterMark: 1 << 20 }), hashes);
      const resumed = segments ? onDisk(segments) : size;
      options.counter.bytes += resumed;
      return new DownloadPart(path, file, options, prefix, hashes, segments, resumed);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** Bytes of the file's prefix that are on disk and hashed. */
  get position(): number {
    return this.#position;
  }

  get algorithms(): readonly DigestAlgorithm[] {
    return this.#algorithms;
  }

  get counter(): ByteCounter {
    return this.#counter;
  }

  /** The file's segments when it is fetched in several ranges; undefined for one stream. */
  get segments(): readonly Segment[] | undefined {
    return this.#segments;
  }

  /** Every byte of the file is on disk (and, once `settled()`, hashed). */
  complete(size: number): boolean {
    return this.#segments ? this.#segments.every((s) => s.written === s.end) && this.#segments.at(-1)?.end === size : this.#position === size;
  }

  // --- one stream: the prefix grows at its end, hashed as it arrives

  /** Hashes bytes of the prefix as they arrive, before their write lands. */
  hashAhead(chunk: Buffer): void {
    for (const h of this.#hashes) h.update(chunk);
  }

  /** Writes `buffers` at `at` (a positioned writev; short writes are carried on). */
  async write(buffers: Buffer[], at: number): Promise<void> {
    // A part that was in segments and starts over as one stream must not be taken for segments again.
    if (this.#dropSidecar) {
      this.#dropSidecar = false;
      await unlink(sidecarPath(this.path)).catch(() => undefined);
    }
    let total = 0;
    for (const b of buffers) total += b.length;
    let pending = buffers;
    let done = 0;
    while (done < total) {
      const { bytesWritten } = await this.#file.writev(pending, at + done);
      done += bytesWritten;
      if (done < total) pending = remainder(buffers, done);
    }
  }

  /** Bytes at the end of the prefix landed (they were hashed as they arrived). */
  advance(bytes: number): void {
    this.#position += bytes;
    this.#counter.bytes += bytes;
  }

  // --- segments: each range grows on its own; the hashes follow the contiguous prefix

  /**
   * Splits the rest of the file into `count` segments. They cover the whole file: the first one
   * starts at byte 0 with the prefix already on disk as written.
   */
  split(size: number, count: number): void {
    const from = this.#position;
    const step = Math.max(1, Math.ceil((size - from) / count));
    const segments: Segment[] = [];
    for (let start = from; start < size; start += step) segments.push({ start, end: Math.min(size, start + step), written: start });
    const first = segments[0];
    segments[0] = { start: 0, end: first?.end ?? size, written: from };
    this.#segments = segments;
    this.#counted = from; // the prefix, counted as it landed
    this.#sidecarDirty = true;
  }

  /**
   * Bytes of `segment` landed. The hashes catch up with the contiguous prefix in the background;
   * the counter, when the sidecar records them (progress reported never goes back after a kill).
   */
  landed(segment: Segment, bytes: number): void {
    segment.written += bytes;
    this.#sidecarDirty = true;
    this.#hashing ??= this.#hashPrefix().finally(() => (this.#hashing = undefined));
  }

  /** Waits until the hashes cover the contiguous prefix, and records the segments on disk. */
  async settled(): Promise<void> {
    while (this.#hashing) await this.#hashing;
    if (this.#segments && this.#position < contiguous(this.#segments)) await this.#hashPrefix();
    await this.saveSegments();
  }

  /**
   * Records the segments' progress in the sidecar, when it changed. A record torn by a crash does
   * not parse, and a part without a valid record starts over: slower, never wrong.
   */
  async saveSegments(): Promise<void> {
    const segments = this.#segments;
    if (!segments || !this.#sidecarDirty) return;
    this.#sidecarDirty = false;
    const recorded = onDisk(segments);
    try {
      await writeFile(sidecarPath(this.path), JSON.stringify({ segments }));
    } catch (err) {
      this.#sidecarDirty = true;
      throw err;
    }
    // Unless the part started over meanwhile, or a later record already counted more.
    if (this.#segments === segments && recorded > this.#counted) {
      this.#counter.bytes += recorded - this.#counted;
      this.#counted = recorded;
    }
  }

  async #hashPrefix(): Promise<void> {
    const segments = this.#segments;
    if (!segments) return;
    const buffer = Buffer.allocUnsafe(HASH_READ);
    for (let end = contiguous(segments); this.#position < end; end = contiguous(segments)) {
      const { bytesRead } = await this.#file.read(buffer, 0, Math.min(HASH_READ, end - this.#position), this.#position);
      if (bytesRead === 0) throw new Error(`${this.path}: ${end - this.#position} bytes recorded as written are missing`);
      for (const h of this.#hashes) h.update(buffer.subarray(0, bytesRead));
      this.#position += bytesRead;
    }
  }

  // --- both

  /** Starts over from byte 0: the server ignored our Range, or the bytes are suspect. */
  restart(): void {
    if (this.#segments) this.#dropSidecar = true;
    this.#counter.bytes -= this.#segments ? this.#counted : this.#position;
    this.#counted = 0;
    this.#position = 0;
    this.#segments = undefined;
    this.#sidecarDirty = false;
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
    await this.settled();
    await this.#file.truncate(this.#segments ? (this.#segments.at(-1)?.end ?? this.#position) : this.#position);
    await this.#file.datasync();
  }

  async close(): Promise<void> {
    await this.#hashing?.catch(() => undefined);
    await this.saveSegments().catch(() => undefined);
    await this.#file.close();
  }

  /** The part is verified and renamed: its sidecar has no more use. */
  async forgetSegments(): Promise<void> {
    if (this.#segments || this.#dropSidecar) await unlink(sidecarPath(this.path)).catch(() => undefined);
  }

  /** Closes and removes the part (and its sidecar): for cancellation and permanent failure. */
  async discard(): Promise<void> {
    await this.#hashing?.catch(() => undefined);
    await this.#file.close().catch(() => undefined);
    await unlink(sidecarPath(this.path)).catch(() => undefined);
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

/** Where a segmented part records its segments. */
export function sidecarPath(partPath: string): string {
  return `${partPath}.segments`;
}

type Sidecar = { state: 'absent' } | { state: 'invalid' } | { state: 'valid'; segments: Segment[] };

async function readSidecar(partPath: string, expectedSize: number | undefined): Promise<Sidecar> {
  let text: string;
  try {
    text = await readFile(sidecarPath(partPath), 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { state: 'absent' } : { state: 'invalid' };
  }
  try {
    const { segments } = JSON.parse(text) as { segments: Segment[] };
    const valid =
      Array.isArray(segments) &&
      segments.length > 0 &&
      segments.every((s, i) => Number.isSafeInteger(s.start) && s.start <= s.written && s.written <= s.end && (i === 0 || s.start === segments[i - 1]!.end)) &&
      (expectedSize === undefined || segments.at(-1)!.end === expectedSize);
    return valid ? { state: 'valid', segments: segments.map((s) => ({ start: s.start, end: s.end, written: s.written })) } : { state: 'invalid' };
  } catch {
    return { state: 'invalid' };
  }
}

/** The end of the contiguous prefix of written bytes. */
function contiguous(segments: readonly Segment[]): number {
  let end = 0;
  for (const s of segments) {
    if (s.start > end) break;
    end = Math.max(end, s.written);
    if (s.written < s.end) break;
  }
  return end;
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

/** Bytes on disk across the segments, the prefix among them. */
function onDisk(segments: readonly Segment[]): number {
  return segments.reduce((n, s) => n + (s.written - s.start), 0);
}
