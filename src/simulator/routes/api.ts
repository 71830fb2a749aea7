import { z } from 'zod';
import { failBody, keepAliveBody, libraryType, parseBody, prepareBody, requireQuery, syncBody } from '../body-schema.ts';
import type { Operations } from '../operations.ts';
import type { Route } from '../router.ts';

/**
 * The /api dialect (vSphere 7.0+): plain path segments, `action=` operations, the model itself as
 * the request body, bare success bodies, 201 on create and 204 for void operations (handled by the
 * dispatcher).
 */
const LIBRARY = '/api/content/library';
const ITEM = `${LIBRARY}/item`;
const DOWNLOAD_SESSION = `${ITEM}/download-session`;

export function apiRoutes(ops: Operations): Route[] {
  return [
    { method: 'POST', path: '/api/session', op: 'login', auth: 'basic', created: true, handle: (c) => ops.login(c.headers.authorization) },
    { method: 'GET', path: '/api/session', op: 'session.get', handle: (_c, s) => ops.sessionInfo(s) },
    { method: 'DELETE', path: '/api/session', op: 'logout', handle: (_c, s) => ops.logout(s) },

    { method: 'GET', path: LIBRARY, op: 'library.list', handle: () => ops.libraries() },
    {
      method: 'POST',
      path: LIBRARY,
      action: 'find',
      op: 'library.find',
      handle: (c) => ops.findLibraries(parseBody(z.object({ name: z.string().optional(), type: libraryType.optional() }).optional(), c.body) ?? {}),
    },

    // Download-session routes first: `item/download-session` would also match `item/{id}`.
    {
      method: 'POST',
      path: DOWNLOAD_SESSION,
      op: 'download_session.create',
      created: true,
      handle: (c, s) => {
        const b = parseBody(z.object({ library_item_id: z.string() }), c.body);
        // vSphere 9 moved the client token to a header; 8.0 takes the query parameter.
        const header = c.headers['client-token'];
        const token = c.query.get('client_token') ?? (Array.isArray(header) ? header[0] : header);
        return ops.createSession(s, b.library_item_id, token);
      },
    },
    {
      method: 'GET',
      path: DOWNLOAD_SESSION,
      op: 'download_session.list',
      handle: (c, s) => ops.listSessions(s, c.query.get('library_item_id') ?? undefined),
    },
    { method: 'GET', path: `${DOWNLOAD_SESSION}/{id}`, op: 'download_session.get', handle: (c, s) => ops.getSession(s, c.params.id!) },
    { method: 'DELETE', path: `${DOWNLOAD_SESSION}/{id}`, op: 'download_session.delete', handle: (c, s) => ops.deleteSession(s, c.params.id!) },
    {
      method: 'POST',
      path: `${DOWNLOAD_SESSION}/{id}`,
      action: 'keep-alive',
      op: 'download_session.keep_alive',
      handle: (c, s) => ops.keepAlive(s, c.params.id!, parseBody(keepAliveBody, c.body)?.progress),
    },
    { method: 'POST', path: `${DOWNLOAD_SESSION}/{id}`, action: 'cancel', op: 'download_session.cancel', handle: (c, s) => ops.cancel(s, c.params.id!) },
    {
      method: 'POST',
      path: `${DOWNLOAD_SESSION}/{id}`,
      action: 'fail',
      op: 'download_session.fail',
      handle: (c, s) => ops.fail(s, c.params.id!, parseBody(failBody, c.body).client_error_message),
    },
    { method: 'GET', path: `${DOWNLOAD_SESSION}/{id}/file`, op: 'file.list', handle: (c, s) => ops.files(s, c.params.id!) },
    {
      method: 'GET',
      path: `${DOWNLOAD_SESSION}/{id}/file`,
      when: 'file_name',
      op: 'file.get',
      handle: (c, s) => ops.file(s, c.params.id!, requireQuery(c.query, 'file_name')),
    },
    {
      method: 'POST',
      path: `${DOWNLOAD_SESSION}/{id}/file`,
      action: 'prepare',
      op: 'file.prepare',
      handle: (c, s) => ops.prepare(s, c.params.id!, parseBody(prepareBody, c.body).file_name),
    },

    { method: 'GET', path: ITEM, op: 'item.list', handle: (c) => ops.items(requireQuery(c.query, 'library_id')) },
    { method: 'GET', path: `${ITEM}/{id}`, op: 'item.get', handle: (c) => ops.item(c.params.id!) },
    { method: 'GET', path: `${ITEM}/{id}/file`, op: 'item.files', handle: (c) => ops.itemFiles(c.params.id!) },
    { method: 'GET', path: `${ITEM}/{id}/file`, when: 'name', op: 'item.files', handle: (c) => ops.itemFile(c.params.id!, requireQuery(c.query, 'name')) },
    {
      method: 'POST',
      path: `${LIBRARY}/subscribed-item/{id}`,
      action: 'sync',
      op: 'item.sync',
      handle: (c) => ops.sync(c.params.id!, parseBody(syncBody, c.body).force_sync_content),
    },
  ];
}
