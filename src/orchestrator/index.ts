/** BullMQ jobs, the heartbeat and the Redis state: the orchestrator's public surface. */
export { DownloadClient, type CancelOutcome, type DownloadClientEvents, type DownloadClientOptions } from './producer.ts';
export { DownloadWorker, type DownloadWorkerOptions, type Readiness } from './download-worker.ts';
export { parseDownloadRequest, parseDownloadId, type DownloadRequest } from './download-request.ts';
export { MapVCenterRegistry, type VCenterRegistry } from './vcenter-registry.ts';
export { SessionAdmin, type SessionAdminDeps } from './session-admin.ts';
export type { DownloadJobOptions } from './download-job.ts';
export type { KeepAliveOptions } from './keep-alive.ts';
export type { LimitOptions } from './limits.ts';
export type { OrchestratorEvents } from './events.ts';
export { deleteKeysUnder, keysFor, QUEUE_NAME } from './keys.ts';
export * from './errors.ts';
export { DOWNLOAD_STATES, isDownloadState, type DownloadProgress, type DownloadResult, type DownloadState, type DownloadStatus, type FileProgress, type FileResult } from './state.ts';
export { parseMirrorRequest, type MirrorRequest } from './mirror-request.ts';
export { MIRROR_STATES, type MirrorItem, type MirrorState, type MirrorStatus } from './mirror-store.ts';
export type { MirrorResult } from './mirror-run.ts';
export type { MirrorSchedule } from './mirror-schedules.ts';
