/**
 * The Content Library download API's models, as cldl uses them: camelCase, dates parsed, optional
 * where the spec leaves a field optional. `wire.ts` turns either dialect's JSON into these.
 */

/** `/rest/com/vmware/...` (vSphere 6.5+, `{"value": ...}` bodies) or `/api/...` (7.0U2+, bare bodies). */
export type ApiDialectName = 'rest' | 'api';

export type DownloadSessionState = 'ACTIVE' | 'CANCELED' | 'ERROR';

export interface DownloadSessionInfo {
  id: string;
  libraryItemId: string;
  libraryItemContentVersion?: string;
  /** The server's (or a failing client's) message when the session is in ERROR. */
  errorMessage?: string;
  /** The last progress a client reported with keep-alive, 0–100. */
  clientProgress?: number;
  state: DownloadSessionState;
  /** The session is guaranteed not to expire before this time; activity pushes it later. */
  expirationTime?: Date;
}

export type FilePrepareStatus = 'UNPREPARED' | 'PREPARE_REQUESTED' | 'PREPARING' | 'PREPARED' | 'ERROR';

export type ChecksumAlgorithm = 'SHA1' | 'MD5' | 'SHA256' | 'SHA512';

export interface ChecksumInfo {
  algorithm: ChecksumAlgorithm;
  /** Lower-case hex. */
  checksum: string;
}

export interface TransferEndpoint {
  uri: string;
  /** SHA-1 of the endpoint certificate's DER, colon-separated hex, when vCenter vouches for it. */
  sslCertificateThumbprint?: string;
}

export interface DownloadFileInfo {
  name: string;
  /** May be absent until the file was downloaded. */
  size?: number;
  bytesTransferred: number;
  status: FilePrepareStatus;
  downloadEndpoint?: TransferEndpoint;
  /** Set once the file was fully downloaded in this session. */
  checksumInfo?: ChecksumInfo;
  errorMessage?: string;
}

/** A file that vCenter prepared: its endpoint is there to GET. */
export type PreparedFileInfo = DownloadFileInfo & { downloadEndpoint: TransferEndpoint };

export type EndpointType = 'HTTPS' | 'DIRECT';

export interface LibraryItemInfo {
  id: string;
  name: string;
  type?: string;
  size?: number;
  /** False for a subscribed item whose content has not been synchronised yet. */
  cached?: boolean;
  contentVersion?: string;
  /** Set for items of a subscribed library: the item it mirrors. */
  sourceId?: string;
  libraryId?: string;
}

export interface LibraryItemFileInfo {
  name: string;
  size: number;
  cached: boolean;
  version?: string;
  checksumInfo?: ChecksumInfo;
}

/** The API session behind a token, from `session.get`. */
export interface ApiSessionInfo {
  user: string;
  createdTime?: Date;
  lastAccessedTime?: Date;
}
