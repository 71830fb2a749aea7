/** cldl's vSphere Content Library client. It knows nothing of BullMQ, Redis or the filesystem. */
export { VCenterClient, type VCenterOptions, type DataEndpoint } from './vcenter.ts';
export { DownloadSessions } from './download-session.ts';
export { DownloadSessionFiles, type WaitPreparedOptions } from './download-session-file.ts';
export { LibraryItems } from './library-item.ts';
export { ContentLibraries, LibraryNotFoundError, type LibraryRef } from './content-library.ts';
export { normalizeThumbprint, asTlsVerificationError, type TlsOptions } from './tls.ts';
export type { ClientLogger, VapiCallEvent } from './logger.ts';
export * from './errors.ts';
export type * from './types.ts';
