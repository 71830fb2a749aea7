import type { ApiSession } from './auth.ts';
import type { ChecksumAlgorithm, Checksums } from './checksums.ts';
import type { WireClock } from './clock.ts';
import type { DownloadSession, SessionFile } from './download-sessions.ts';
import type { ItemFile, ItemRecord } from './libraries.ts';
import { localizableMessage } from './vapi-errors.ts';

/**
 * Records as the spec's models. Both dialects use the same field names; only the envelope differs
 * (routes/*.ts). Optional fields are omitted, never null: the spec declares no nullable fields.
 */

export interface TransferEndpoint {
  uri: string;
  ssl_certificate_thumbprint?: string;
}

export function sessionInfoModel(s: ApiSession, clock: WireClock): unknown {
  return { user: s.user, created_time: clock.iso(s.createdAt.getTime()), last_accessed_time: clock.iso(s.lastAccessedAt.getTime()) };
}

export function downloadSessionModel(s: DownloadSession, expiresAt: number, clock: WireClock): unknown {
  return {
    id: s.id,
    library_item_id: s.item.id,
    library_item_content_version: s.contentVersion,
    ...(s.errorMessage !== undefined && {
      error_message: localizableMessage(s.errorFromServer ? 'com.vmware.vdcs.cls-main.item_deleted' : 'com.vmware.vdcs.cls-main.client_error', s.errorMessage),
    }),
    client_progress: s.progress,
    state: s.state,
    expiration_time: clock.iso(expiresAt),
  };
}

export interface SessionFileContext {
  endpoint(sessionId: string, fileName: string): TransferEndpoint;
  sizeUntilDownloaded: boolean;
  checksumAlgorithm: ChecksumAlgorithm;
  checksums: Checksums;
}

/** DownloadSession File.Info. Waits for the checksum once the file was fully served in the session. */
export async function sessionFileModel(s: DownloadSession, f: SessionFile, ctx: SessionFileContext): Promise<unknown> {
  const complete = f.served.covers(f.file.size);
  const checksum = complete ? await ctx.checksums.checksum(f.file.key, f.file.source, ctx.checksumAlgorithm) : undefined;
  return {
    name: f.file.name,
    ...((!ctx.sizeUntilDownloaded || complete) && { size: f.file.size }),
    bytes_transferred: f.bytesTransferred,
    status: f.status,
    ...(f.status === 'PREPARED' && { download_endpoint: ctx.endpoint(s.id, f.file.name) }),
    ...(checksum !== undefined && { checksum_info: { algorithm: ctx.checksumAlgorithm, checksum } }),
    ...(f.errorMessage !== undefined && {
      error_message: localizableMessage('com.vmware.vdcs.cls-main.file_prepare_error', f.errorMessage, [f.file.name]),
    }),
  };
}

export function itemModel(item: ItemRecord, clock: WireClock): unknown {
  return {
    id: item.id,
    library_id: item.libraryId,
    name: item.name,
    type: item.type,
    size: item.files.reduce((n, f) => n + f.size, 0),
    cached: item.cached,
    content_version: item.contentVersion,
    metadata_version: '1',
    version: '1',
    creation_time: clock.iso(item.creationTime.getTime()),
    last_modified_time: clock.iso(item.lastModifiedTime.getTime()),
    ...(item.lastSyncTime && { last_sync_time: clock.iso(item.lastSyncTime.getTime()) }),
    ...(item.sourceId !== undefined && { source_id: item.sourceId }),
    security_compliance: true,
  };
}

/** Item File.Info: its checksum only if already computed, as a listing must not wait on a 20 GiB hash. */
export function itemFileModel(item: ItemRecord, f: ItemFile, algorithm: ChecksumAlgorithm, checksums: Checksums): unknown {
  const checksum = checksums.peek(f.key, algorithm);
  return {
    name: f.name,
    size: f.size,
    cached: item.cached,
    version: item.contentVersion,
    ...(checksum !== undefined && { checksum_info: { algorithm, checksum } }),
  };
}
