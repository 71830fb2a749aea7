import { z } from 'zod';
import { VapiError } from './vapi-errors.ts';

/**
 * A request body checked against its spec shape. Unknown fields are ignored, as vCenter ignores
 * them (a misspelt optional field is the client's silent bug, which spec-proxy catches); missing or
 * mistyped required fields are the client's invalid_argument.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (!r.success) {
    throw new VapiError('invalid_argument', `Invalid request body: ${z.prettifyError(r.error).replace(/\n/g, ' ')}`, {
      id: 'com.vmware.vapi.rest.badRequest',
    });
  }
  return r.data;
}

/** A required query parameter. */
export function requireQuery(query: URLSearchParams, name: string): string {
  const v = query.get(name);
  if (v === null) throw new VapiError('invalid_argument', `Missing required query parameter ${name}.`, { id: 'com.vmware.vapi.rest.badRequest', args: [name] });
  return v;
}

export const libraryType = z.enum(['LOCAL', 'SUBSCRIBED']);
export const endpointType = z.enum(['HTTPS', 'DIRECT']);
export const keepAliveBody = z.object({ progress: z.number().int().optional() }).optional();
export const failBody = z.object({ client_error_message: z.string() });
export const syncBody = z.object({ force_sync_content: z.boolean(), sync_optional_files: z.boolean().optional() });
export const prepareBody = z.object({ file_name: z.string(), endpoint_type: endpointType.optional() });
