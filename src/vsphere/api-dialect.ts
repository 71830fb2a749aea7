import { decodeSession, decodeWith, enc, noContent, type Dialect, type VapiErrorInfo } from './dialect.ts';
import * as wire from './wire.ts';

/**
 * The `/api/...` dialect (vSphere 7.0U2 and later): actions as `?action=`, bare bodies, 201 for
 * creates and 204 for void calls. The create spec is the session model itself; the client token
 * goes in the query (7.0U3/8.0) and the `Client-Token` header (9.x), so one request suits both.
 */
const CONTENT = '/api/content/library';
const SESSION = `${CONTENT}/item/download-session`;

export const apiDialect: Dialect = {
  name: 'api',

  login: (authorization) => ({
    name: 'login',
    method: 'POST',
    path: '/api/session',
    headers: { authorization, 'vmware-use-header-authn': 'true' },
    decode: decodeWith(wire.stringValue),
  }),
  logout: () => ({ name: 'logout', method: 'DELETE', path: '/api/session', decode: noContent }),
  sessionInfo: () => ({ name: 'session.get', method: 'GET', path: '/api/session', decode: decodeWith(wire.apiSessionInfo) }),

  createDownloadSession: (libraryItemId, clientToken) => ({
    name: 'download_session.create',
    method: 'POST',
    path: `${SESSION}?client_token=${enc(clientToken)}`,
    headers: { 'client-token': clientToken },
    body: { library_item_id: libraryItemId },
    decode: decodeWith(wire.stringValue),
  }),
  getDownloadSession: (id) => ({
    name: 'download_session.get',
    method: 'GET',
    path: `${SESSION}/${enc(id)}`,
    decode: decodeSession(id, wire.downloadSession),
  }),
  listDownloadSessions: (libraryItemId) => ({
    name: 'download_session.list',
    method: 'GET',
    path: libraryItemId === undefined ? SESSION : `${SESSION}?library_item_id=${enc(libraryItemId)}`,
    decode: decodeWith(wire.stringList),
  }),
  keepAlive: (id, progress) => ({
    name: 'download_session.keep_alive',
    method: 'POST',
    path: `${SESSION}/${enc(id)}?action=keep-alive`,
    ...(progress === undefined ? {} : { body: { progress } }),
    decode: noContent,
  }),
  cancel: (id) => ({ name: 'download_session.cancel', method: 'POST', path: `${SESSION}/${enc(id)}?action=cancel`, decode: noContent }),
  fail: (id, clientErrorMessage) => ({
    name: 'download_session.fail',
    method: 'POST',
    path: `${SESSION}/${enc(id)}?action=fail`,
    body: { client_error_message: clientErrorMessage },
    decode: noContent,
  }),
  deleteDownloadSession: (id) => ({ name: 'download_session.delete', method: 'DELETE', path: `${SESSION}/${enc(id)}`, decode: noContent }),

  listFiles: (sessionId) => ({
    name: 'file.list',
    method: 'GET',
    path: `${SESSION}/${enc(sessionId)}/file`,
    decode: decodeWith(wire.sessionFileList),
  }),
  getFile: (sessionId, fileName) => ({
    name: 'file.get',
    method: 'GET',
    path: `${SESSION}/${enc(sessionId)}/file?file_name=${enc(fileName)}`,
    decode: decodeWith(wire.sessionFile),
  }),
  prepareFile: (sessionId, fileName, endpointType) => ({
    name: 'file.prepare',
    method: 'POST',
    path: `${SESSION}/${enc(sessionId)}/file?action=prepare`,
    body: { file_name: fileName, endpoint_type: endpointType },
    decode: decodeWith(wire.sessionFile),
  }),

  listLibraries: () => ({ name: 'library.list', method: 'GET', path: CONTENT, decode: decodeWith(wire.stringList) }),
  findLibraries: (name) => ({ name: 'library.find', method: 'POST', path: `${CONTENT}?action=find`, body: { name }, decode: decodeWith(wire.stringList) }),
  listItems: (libraryId) => ({ name: 'item.list', method: 'GET', path: `${CONTENT}/item?library_id=${enc(libraryId)}`, decode: decodeWith(wire.stringList) }),
  getItem: (id) => ({ name: 'item.get', method: 'GET', path: `${CONTENT}/item/${enc(id)}`, decode: decodeWith(wire.libraryItem) }),
  listItemFiles: (id) => ({
    name: 'item.files',
    method: 'GET',
    path: `${CONTENT}/item/${enc(id)}/file`,
    decode: decodeWith(wire.libraryItemFileList),
  }),
  syncItem: (id, forceSyncContent) => ({
    name: 'item.sync',
    method: 'POST',
    path: `${CONTENT}/subscribed-item/${enc(id)}?action=sync`,
    body: { force_sync_content: forceSyncContent },
    decode: noContent,
  }),

  unwrap: (body) => body,

  parseError(body): VapiErrorInfo {
    const parsed = wire.vapiErrorBody.safeParse(body);
    if (!parsed.success) return { messages: [] };
    return {
      errorType: parsed.data.error_type?.toLowerCase(),
      messages: (parsed.data.messages ?? []).filter((m): m is string => !!m),
    };
  },
};
