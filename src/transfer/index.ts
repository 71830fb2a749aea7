/**
 * Moving bytes to disk: streamed, hashed on the fly, resumable, verified, committed atomically.
 * No vCenter sessions here. The orchestrator uses the first block only; the rest is for tests, the
 * bench and the layer's own modules.
 */
export { VerifiedDownload, type Expectations, type VerifiedFile, type VerifiedRunOptions } from './verified-download.ts';
export { DestinationDir, type FilePaths } from './destination-dir.ts';
export { checksumFrom, readManifest, type ExpectedChecksum, type Manifest } from './verify.ts';
export type { ByteCounter } from './byte-counter.ts';
export * from './errors.ts';

export { downloadFile, type FileDownloadOptions, type RetryEvent, type SegmentOptions } from './file-download.ts';
export type { Throttle } from './throttle.ts';
export { DownloadPart, type DigestAlgorithm, type OpenPartOptions } from './download-part.ts';
export { commitFile, exists } from './atomic-commit.ts';
export { assertChecksum, digestAlgorithm, hashFile, parseManifest } from './verify.ts';
export { assertSafeDestination, assertSafeFileName, destinationProblem, fileNameProblem } from './safe-path.ts';
