import { z } from 'zod';
import { failBody, keepAliveBody, libraryType, parseBody, prepareBody, requireQuery, syncBody } from '../body-schema.ts';
import type { Operations } from '../operations.ts';
import type { Route } from '../router.ts';

/**
 * The /rest dialect (vSphere 6.5+, deprecated in 7.0 but still served in 8): `id:` path segments,
 * `~action=` operations, request fields wrapped in `spec`/`create_spec`, every success body wrapped
 * in `{"value": ...}` (handled by the dispatcher), void operations 200 with no body.
 */
const SESSION = '/rest/com/vmware/cis/session';
const LIBRARY = '/rest/com/vmware/content/library';
const ITEM = `${LIBRARY}/item`;
const DOWNLOAD_SESSION = `${ITEM}/download-session`;
const FILE = `${ITEM}/downloadsession/file`;

export function restRoutes(ops: Operations): Route[] {
  return [
    { method: 'POST', path: SESSION, op: 'login', auth: 'basic', handle: (c) => ops.login(c.headers.authorization) },
    { method: 'POST', path: SESSION, action: 'get', op: 'session.get', handle: (_c, s) => ops.sessionInfo(s) },
    { method: 'DELETE', path: SESSION, op: 'logout', handle: (_c, s) => ops.logout(s) },

    { method: 'GET', path: LIBRARY, op: 'library.list', handle: () => ops.libraries() },
    {
      method: 'POST',
      path: LIBRARY,
      action: 'find',
      op: 'library.find',
      handle: (c) => {
        const b = parseBody(z.object({ spec: z.object({ name: z.string().optional(), type: libraryType.optional() }) }), c.body);
        return ops.findLibraries(b.spec);
      },
    },

    { method: 'GET', path: ITEM, op: 'item.list', handle: (c) => ops.items(requireQuery(c.query, 'library_id')) },
    { method: 'GET', path: `${ITEM}/id:{id}`, op: 'item.get', handle: (c) => ops.item(c.params.id!) },
    { method: 'GET', path: `${ITEM}/file`, op: 'item.files', handle: (c) => ops.itemFiles(requireQuery(c.query, 'library_item_id')) },
    {
      method: 'POST',
      path: `${ITEM}/file/id:{id}`,
      action: 'get',
      op: 'item.files',
      handle: (c) => ops.itemFile(c.params.id!, parseBody(z.object({ name: z.string() }), c.body).name),
    },
    {
      method: 'POST',
      path: `${LIBRARY}/subscribed-item/id:{id}`,
      action: 'sync',
      op: 'item.sync',
      handle: (c) => ops.sync(c.params.id!, parseBody(syncBody, c.body).force_sync_content),
    },

    {
      method: 'POST',
      path: DOWNLOAD_SESSION,
      op: 'download_session.create',
      handle: (c, s) => {
        const b = parseBody(z.object({ client_token: z.string().optional(), create_spec: z.object({ library_item_id: z.string() }) }), c.body);
        return ops.createSession(s, b.create_spec.library_item_id, b.client_token);
      },
    },
    {
      method: 'GET',
      path: DOWNLOAD_SESSION,
      op: 'download_session.list',
      handle: (c, s) => ops.listSessions(s, c.query.get('library_item_id') ?? undefined),
    },
    { method: 'GET', path: `${DOWNLOAD_SESSION}/id:{id}`, op: 'download_session.get', handle: (c, s) => ops.getSession(s, c.params.id!) },
    { method: 'DELETE', path: `${DOWNLOAD_SESSION}/id:{id}`, op: 'download_session.delete', handle: (c, s) => ops.deleteSession(s, c.params.id!) },
    {
      method: 'POST',
      path: `${DOWNLOAD_SESSION}/id:{id}`,
      action: 'keep-alive',
      op: 'download_session.keep_alive',
      handle: (c, s) => ops.keepAlive(s, c.params.id!, parseBody(keepAliveBody, c.body)?.progress),
    },
    { method: 'POST', path: `${DOWNLOAD_SESSION}/id:{id}`, action: 'cancel', op: 'download_session.cancel', handle: (c, s) => ops.cancel(s, c.params.id!) },
    {
      method: 'POST',
      path: `${DOWNLOAD_SESSION}/id:{id}`,
      action: 'fail',
      op: 'download_session.fail',
      handle: (c, s) => ops.fail(s, c.params.id!, parseBody(failBody, c.body).client_error_message),
    },

    { method: 'GET', path: FILE, op: 'file.list', handle: (c, s) => ops.files(s, requireQuery(c.query, 'download_session_id')) },
    {
      method: 'POST',
      path: `${FILE}/id:{id}`,
      action: 'get',
      op: 'file.get',
      handle: (c, s) => ops.file(s, c.params.id!, parseBody(z.object({ file_name: z.string() }), c.body).file_name),
    },
    {
      method: 'POST',
      path: `${FILE}/id:{id}`,
      action: 'prepare',
      op: 'file.prepare',
      handle: (c, s) => ops.prepare(s, c.params.id!, parseBody(prepareBody, c.body).file_name),
    },
  ];
}
