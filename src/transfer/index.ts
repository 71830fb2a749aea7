/** Moving bytes to disk: streamed, hashed on the fly, resumable, committed atomically. No vCenter sessions here. */
export { downloadFile, type FileDownloadOptions, type HttpSource, type RetryEvent } from './file-download.ts';
export { DownloadPart, type DigestAlgorithm, type OpenPartOptions } from './download-part.ts';
export type { ByteCounter } from './hashing-file-writer.ts';
export { commitFile, exists } from './atomic-commit.ts';
export { assertChecksum, digestAlgorithm, hashFile, parseManifest, type ExpectedChecksum } from './verify.ts';
export { assertSafeDestination, assertSafeFileName, destinationProblem, isInside, prepareDestinationDir } from './safe-path.ts';
export * from './errors.ts';
