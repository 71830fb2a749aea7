import { z } from 'zod';
import type {
  ApiSessionInfo,
  ChecksumInfo,
  DownloadFileInfo,
  DownloadSessionInfo,
  LibraryItemFileInfo,
  LibraryItemInfo,
} from './types.ts';

/**
 * Decoders from the wire (snake_case JSON, the same in both dialects once /rest's `{"value"}` is
 * unwrapped) to cldl's models. They are lenient where servers differ in harmless ways (unknown
 * fields, a message as a bare string) and strict where a wrong value would mislead us (state and
 * status enums, numbers), so a broken server is a clear error, not a guess.
 */

/** vAPI's LocalizableMessage, or a bare string from a sloppy server: we keep the English text. */
const message = z
  .union([z.string(), z.looseObject({ default_message: z.string().optional(), id: z.string().optional() })])
  .transform((m) => (typeof m === 'string' ? m : (m.default_message ?? m.id ?? '')) || undefined);

const date = z.string().transform((s, ctx) => {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: `not a date-time: ${s}` });
    return z.NEVER;
  }
  return d;
});

const count = z.number().int().nonnegative();

const checksumInfo = z
  .object({
    // The spec makes the algorithm optional; Content Library's default is SHA1.
    algorithm: z.enum(['SHA1', 'MD5', 'SHA256', 'SHA512']).optional(),
    checksum: z.string().min(1),
  })
  .transform((c): ChecksumInfo => ({ algorithm: c.algorithm ?? 'SHA1', checksum: c.checksum.toLowerCase() }));

/** A list; `null` reads as empty (Go servers, vcsim among them, marshal an empty slice as null). */
function list<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullable()
    .transform((v): z.output<T>[] => v ?? []);
}

export const stringValue = z.string().min(1);
export const stringList = list(z.string());

export const downloadSession = z
  .object({
    id: z.string().optional(),
    library_item_id: z.string(),
    library_item_content_version: z.string().optional(),
    error_message: message.optional(),
    client_progress: count.optional(),
    state: z.enum(['ACTIVE', 'CANCELED', 'ERROR']),
    expiration_time: date.optional(),
  })
  .transform(
    (s): Omit<DownloadSessionInfo, 'id'> & { id?: string } => ({
      id: s.id,
      libraryItemId: s.library_item_id,
      libraryItemContentVersion: s.library_item_content_version,
      errorMessage: s.error_message,
      clientProgress: s.client_progress,
      state: s.state,
      expirationTime: s.expiration_time,
    }),
  );

export const sessionFile = z
  .object({
    name: z.string(),
    size: count.optional(),
    bytes_transferred: count,
    status: z.enum(['UNPREPARED', 'PREPARE_REQUESTED', 'PREPARING', 'PREPARED', 'ERROR']),
    download_endpoint: z.object({ uri: z.string().min(1), ssl_certificate_thumbprint: z.string().optional() }).optional(),
    checksum_info: checksumInfo.optional(),
    error_message: message.optional(),
  })
  .transform(
    (f): DownloadFileInfo => ({
      name: f.name,
      size: f.size,
      bytesTransferred: f.bytes_transferred,
      status: f.status,
      downloadEndpoint: f.download_endpoint && {
        uri: f.download_endpoint.uri,
        sslCertificateThumbprint: f.download_endpoint.ssl_certificate_thumbprint || undefined,
      },
      checksumInfo: f.checksum_info,
      errorMessage: f.error_message,
    }),
  );

export const sessionFileList = list(sessionFile);

export const libraryItem = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.string().optional(),
    size: count.optional(),
    cached: z.boolean().optional(),
    content_version: z.string().optional(),
    source_id: z.string().optional(),
    library_id: z.string().optional(),
  })
  .transform(
    (i): LibraryItemInfo => ({
      id: i.id,
      name: i.name,
      type: i.type,
      size: i.size,
      cached: i.cached,
      contentVersion: i.content_version,
      sourceId: i.source_id,
      libraryId: i.library_id,
    }),
  );

export const libraryItemFileList = list(
  z
    .object({
      name: z.string(),
      size: count,
      cached: z.boolean(),
      version: z.string().optional(),
      checksum_info: checksumInfo.optional(),
    })
    .transform(
      (f): LibraryItemFileInfo => ({ name: f.name, size: f.size, cached: f.cached, version: f.version, checksumInfo: f.checksum_info }),
    ),
);

export const apiSessionInfo = z
  .object({ user: z.string(), created_time: date.optional(), last_accessed_time: date.optional() })
  .transform((s): ApiSessionInfo => ({ user: s.user, createdTime: s.created_time, lastAccessedTime: s.last_accessed_time }));

/** vAPI error bodies of both dialects, reduced to what we keep. */
export const vapiErrorBody = z.object({
  type: z.string().optional(),
  error_type: z.string().optional(),
  value: z.looseObject({ error_type: z.string().optional(), messages: z.array(message).optional() }).optional(),
  messages: z.array(message).optional(),
});
