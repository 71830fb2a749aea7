import { waitBackoff, type BackoffOptions } from '../backoff.ts';
import type { DataEndpoint } from '../vsphere/index.ts';
import type { DownloadPart, Segment } from './download-part.ts';
import { DataUnauthorizedError, TransferError } from './errors.ts';
import { PartSink } from './part-sink.ts';
import { header, readAnswer } from './range-answer.ts';
import type { Throttle } from './throttle.ts';
import { classifyFailure, retryReason } from './transfer-failure.ts';

export interface RetryEvent {
  fileName: string;
  attempt: number;
  /** A short, label-safe reason: `connection`, `http_5xx`, `unauthorized`, `range_ignored`… */
  reason: string;
  error: Error;
}

/** Fetching one file over several connections, each its own range of it. */
export interface SegmentOptions {
  /** Connections per file (1: one stream, as without this option). */
  connections: number;
  /** Files smaller than this are fetched as one stream. */
  minBytes: number;
  /**
   * One stream that moves at least this many bytes per second is left alone: segments pay only on
   * a path that shapes each connection, and cost memory and CPU on one that does not.
   */
  slowerThanBytesPerSecond?: number | undefined;
  /** How long one stream runs before its speed decides (a quarter second); 0 splits as soon as a 206 shows Range is honoured. */
  sampleMs?: number | undefined;
}

export interface FileDownloadOptions {
  /** For messages only. */
  fileName: string;
  /** When known (vCenter may omit it until the download), the transfer must end exactly here. */
  expectedSize?: number | undefined;
  /** Tries per call, counting the first (per segment, when segmented). */
  attempts: number;
  backoff: BackoffOptions;
  /**
   * Bytes gathered before one positioned write. 512 KiB keeps the socket reading while the disk
   * writes; 4 MiB measured slower (its bytes have left the CPU cache by the time they are copied to
   * the page cache and hashed).
   */
  highWaterMark?: number;
  /** Segmented download, when the server honours Range and the file is large enough. */
  segments?: SegmentOptions | undefined;
  /** A bandwidth budget every byte is drawn from; none by default. */
  throttle?: Throttle | undefined;
  signal?: AbortSignal | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

const DEFAULT_BATCH = 512 << 10;
/** Writes in flight per answer: the socket keeps reading while the disk catches up. */
const WRITES_IN_FLIGHT = 4;
/** A segment's connection is slow by design: fewer writes in flight, less memory per connection. */
const SEGMENT_WRITES_IN_FLIGHT = 2;
/** How long one stream runs before its speed decides whether it goes in segments. */
const SPLIT_SAMPLE_MS = 250;
const DEFAULT_SLOWER_THAN = 50_000_000;
/** How often a segmented part records its segments' progress for a process that resumes it. */
const SIDECAR_EVERY_MS = 1000;

/**
 * Streams `source` into `part` until it holds the whole file, resuming with Range after each
 * transient failure: only a 206 whose Content-Range starts where we are is appended to; a 200
 * means the server ignored the Range, so the file starts over (the hashes with it, nothing is read
 * twice). A 401 re-authorises and resumes at once. A large file on a server that honours Range is
 * fetched in segments over several connections, each resuming on its own. Ends with the bytes
 * durable on disk; verifying and renaming them are the caller's.
 */
export async function downloadFile(part: DownloadPart, source: DataEndpoint, options: FileDownloadOptions): Promise<void> {
  for (;;) {
    if (part.segments && options.expectedSize !== undefined) {
      try {
        await downloadSegments(part, part.segments, source, options, options.expectedSize);
        break;
      } catch (err) {
        // The server stopped honouring Range: what is on disk cannot be trusted to line up. One
        // stream from byte 0, and no more segments for this file.
        if (!(err instanceof RangeIgnored)) throw err;
        part.restart();
        options = { ...options, segments: undefined };
        options.onRetry?.({ fileName: options.fileName, attempt: 1, reason: 'range', error: err });
      }
    }
    // A file complete on disk (a worker died between the last byte and the rename) needs no GET.
    if (options.expectedSize !== undefined && part.position === options.expectedSize) break;
    const split = await retrying(part, source, options, () => part.position, () => exchange(part, source, options, undefined));
    if (split === undefined) break;
    part.split(split.size, options.segments?.connections ?? 1);
  }
  await part.flush();
}

/**
 * Runs `attempt` until it succeeds, retrying transient failures with backoff. `attempts` bounds
 * failures in a row without progress: a flaky link that moves the file forward on every try is
 * never given up on; one that makes no headway is. Resolves with a split request when the first
 * answer showed the file should go in segments.
 */
async function retrying(
  part: DownloadPart,
  source: DataEndpoint,
  options: FileDownloadOptions,
  position: () => number,
  attempt: () => Promise<void>,
): Promise<SplitRequest | undefined> {
  const { fileName, signal } = options;
  let failures = 0;
  let progressAt = position();
  for (;;) {
    try {
      await attempt();
      return undefined;
    } catch (raw) {
      if (raw instanceof SplitRequest) return raw;
      if (raw instanceof RangeIgnored) throw raw;
      if (signal?.aborted) throw signal.reason;
      const err = classifyFailure(raw, fileName, part, source.url);
      if (position() > progressAt) failures = 0;
      failures++;
      if (err instanceof DataUnauthorizedError) await source.unauthorized(err.sentHeaders);
      if (!err.retryable || failures >= options.attempts) {
        if (failures > 1 && err.retryable) {
          throw new TransferError(err.code, `${err.message} (gave up after ${failures} attempts without progress)`, { cause: err, retryable: true, fileName });
        }
        throw err;
      }
      if (err instanceof TransferError && err.restart) {
        if (part.segments) throw new RangeIgnored(err.message);
        part.restart();
      }
      progressAt = position();
      options.onRetry?.({ fileName, attempt: failures, reason: retryReason(err), error: err });
      // A fresh login needs no wait; anything else backs off (and an abort meanwhile says why).
      if (!(err instanceof DataUnauthorizedError)) {
        await waitBackoff(failures, options.backoff, signal).catch((e: unknown) => {
          throw signal?.aborted ? signal.reason : e;
        });
      }
    }
  }
}

/** Every unfinished segment over a connection of its own, each retried on its own; the first fatal error stops them all. */
async function downloadSegments(part: DownloadPart, segments: readonly Segment[], source: DataEndpoint, options: FileDownloadOptions, size: number): Promise<void> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  // Recorded before any segment writes: a part with holes must never be mistaken for a prefix.
  await part.saveSegments();
  const sidecar = setInterval(() => void part.saveSegments().catch(() => undefined), SIDECAR_EVERY_MS);
  try {
    const runs = segments
      .filter((s) => s.written < s.end)
      .map((segment) =>
        retrying(part, source, { ...options, signal }, () => segment.written, () => exchange(part, source, { ...options, signal }, segment)).catch((err: unknown) => {
          stop.abort(err);
          throw err;
        }),
      );
    const outcomes = await Promise.allSettled(runs);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    // Why the segments stopped: the caller's abort, else the first segment that failed for good
    // (the others only saw it stop them).
    if (failed) throw options.signal?.aborted ? options.signal.reason : stop.signal.aborted ? stop.signal.reason : failed.reason;
    await part.settled();
    if (part.position !== size) throw new TransferError('CLDL_TRANSFER_SHORT', `${options.fileName}: segments end at ${part.position} of ${size} bytes`, { fileName: options.fileName, retryable: true });
  } finally {
    clearInterval(sidecar);
    await part.saveSegments().catch(() => undefined);
  }
}

/** The first answer honoured a Range on a file large enough to fetch in segments. */
class SplitRequest extends Error {
  readonly size: number;
  constructor(size: number) {
    super('split into segments');
    this.size = size;
  }
}

/** A segment's Range was answered with the whole file: segments cannot go on. */
class RangeIgnored extends Error {}

/**
 * One GET: writes the answer's bytes onto the part's prefix (or into `segment`). Resolves when the
 * body ended and every byte of it is on disk.
 */
async function exchange(part: DownloadPart, source: DataEndpoint, options: FileDownloadOptions, segment: Segment | undefined): Promise<void> {
  const url = new URL(source.url);
  const headers = await source.headers();
  const request: Record<string, string> = { ...headers };
  const from = segment ? segment.written : part.position;
  const size = options.expectedSize;
  // Asking for a Range from byte 0 of a large file is how a server tells it honours Ranges (206).
  const probeRanges = !segment && from === 0 && size !== undefined && options.segments !== undefined && options.segments.connections > 1 && size >= options.segments.minBytes;
  if (segment) request.range = `bytes=${from}-${segment.end - 1}`;
  else if (from > 0 || probeRanges) request.range = `bytes=${from}-`;
  if (from > 0 && part.etag) request['if-range'] = part.etag;
  const end = segment ? segment.end : (size ?? Infinity);
  const sampleMs = options.segments?.sampleMs ?? SPLIT_SAMPLE_MS;
  let sample: NodeJS.Timeout | undefined;
  let total: number | undefined;
  const sink = new PartSink(part, {
    batchBytes: options.highWaterMark ?? DEFAULT_BATCH,
    maxInFlight: segment ? SEGMENT_WRITES_IN_FLIGHT : WRITES_IN_FLIGHT,
    segment,
    end,
    overflow: () => tooLong(options.fileName, size),
    signal: options.signal,
    throttle: options.throttle,
    accept: (statusCode, h) => {
      if (segment && statusCode === 200) throw new RangeIgnored(`${options.fileName}: the server answered a Range with the whole file`);
      const answer = readAnswer(statusCode, h, from, options.fileName, source.url, headers);
      if (answer.restart) part.restart();
      total = answer.total;
      if (segment && answer.through !== undefined && answer.through !== segment.end - 1) {
        throw new TransferError('CLDL_RANGE_MISMATCH', `${options.fileName}: asked for bytes ${from}-${segment.end - 1}, got through ${answer.through}`, {
          fileName: options.fileName,
          retryable: true,
          restart: true,
        });
      }
      if (size !== undefined && total !== undefined && total !== size) {
        throw new TransferError('CLDL_SIZE_MISMATCH', `${options.fileName}: the server sends ${total} bytes, but vCenter listed ${size}`, {
          fileName: options.fileName,
          retryable: true,
          restart: true,
        });
      }
      const etag = header(h, 'etag');
      if (etag && !etag.startsWith('W/')) part.etag = etag;
      if (probeRanges && statusCode === 206 && size !== undefined) {
        if (sampleMs === 0) throw new SplitRequest(size);
        // The server honours Range: a stream slower than the threshold over its first quarter second
        // goes on in segments from where it got to (its bytes are kept); a fast one is left alone.
        const threshold = options.segments?.slowerThanBytesPerSecond ?? DEFAULT_SLOWER_THAN;
        sample = setTimeout(() => {
          if ((sink.receivedTo - from) * 1000 < threshold * sampleMs) sink.abort(new SplitRequest(size));
        }, sampleMs);
      }
    },
  });
  source.dispatcher.dispatch({ origin: url.origin, path: url.pathname + url.search, method: 'GET', headers: request }, sink);
  try {
    await sink.done;
  } catch (err) {
    if (sink.hashesAhead) part.restart();
    throw err;
  } finally {
    clearTimeout(sample);
  }
  // Fewer bytes than the file holds: the connection ended early; what arrived is kept, the rest resumes.
  const reached = segment ? segment.written : part.position;
  const target = segment ? segment.end : (total ?? size);
  if (target !== undefined && reached < target) {
    throw new TransferError('CLDL_TRANSFER_SHORT', `${options.fileName}: the body ended after ${reached} of ${target} bytes`, {
      fileName: options.fileName,
      retryable: true,
    });
  }
}

/** More bytes than the file holds: not a glitch to retry, a server sending something else. */
function tooLong(fileName: string, size: number | undefined): TransferError {
  return new TransferError('CLDL_SIZE_EXCEEDED', `${fileName}: the server sent more than the ${size} bytes the file holds; refusing the rest`, {
    fileName,
    retryable: false,
  });
}
