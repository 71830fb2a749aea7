/**
 * cldl for other Node services: queue downloads, follow and cancel them. Only Redis is needed:
 * vCenter credentials stay with the workers.
 *
 *   import { DownloadClient } from 'cldl';
 *   const cldl = new DownloadClient({ redis: process.env.REDIS_URL });
 *   const id = await cldl.enqueueDownload({ libraryItemId, destination: 'isos/photon' });
 *   const result = await cldl.waitForDownload(id);
 */
export {
  DownloadClient,
  DownloadFailedError,
  InvalidRequestError,
  parseDownloadRequest,
  type CancelOutcome,
  type DownloadClientEvents,
  type DownloadClientOptions,
  type DownloadProgress,
  type DownloadRequest,
  type DownloadResult,
  type DownloadState,
  type DownloadStatus,
  type FileResult,
} from './orchestrator/index.ts';
export { CldlError } from './cldl-error.ts';
