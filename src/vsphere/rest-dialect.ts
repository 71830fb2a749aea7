import { decodeSession, decodeWith, enc, noContent, type Dialect, type VapiErrorInfo } from './dialect.ts';
import * as wire from './wire.ts';

/**
 * The legacy `/rest/com/vmware/...` dialect (vSphere 6.5 and later): actions as `?~action=`,
 * ids as `id:{id}`, every answer wrapped in `{"value": ...}`, void calls answering 200.
 */
const CONTENT = '/rest/com/vmware/content/library';
const SESSION = `${CONTENT}/item/download-session`;
const FILE = `${CONTENT}/item/downloadsession/file`;
const CIS = '/rest/com/vmware/cis/session';

export const restDialect: Dialect = {
  name: 'rest',

  login: (authorization) => ({
    name: 'login',
    method: 'POST',
    path: CIS,
    headers: { authorization, 'vmware-use-header-authn': 'true' },
    decode: decodeWith(wire.stringValue),
  }),
  logout: () => ({ name: 'logout', method: 'DELETE', path: CIS, decode: noContent }),
  sessionInfo: () => ({ name: 'session.get', method: 'POST', path: `${CIS}?~action=get`, decode: decodeWith(wire.apiSessionInfo) }),

  createDownloadSession: (libraryItemId, clientToken) => ({
    name: 'download_session.create',
    method: 'POST',
    path: SESSION,
    body: { client_token: clientToken, create_spec: { library_item_id: libraryItemId } },
    decode: decodeWith(wire.stringValue),
  }),
  getDownloadSession: (id) => ({
    name: 'download_session.get',
    method: 'GET',
    path: `${SESSION}/id:${enc(id)}`,
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
    path: `${SESSION}/id:${enc(id)}?~action=keep-alive`,
    ...(progress === undefined ? {} : { body: { progress } }),
    decode: noContent,
  }),
  cancel: (id) => ({ name: 'download_session.cancel', method: 'POST', path: `${SESSION}/id:${enc(id)}?~action=cancel`, decode: noContent }),
  fail: (id, clientErrorMessage) => ({
    name: 'download_session.fail',
    method: 'POST',
    path: `${SESSION}/id:${enc(id)}?~action=fail`,
    body: { client_error_message: clientErrorMessage },
    decode: noContent,
  }),
  deleteDownloadSession: (id) => ({ name: 'download_session.delete', method: 'DELETE', path: `${SESSION}/id:${enc(id)}`, decode: noContent }),

  listFiles: (sessionId) => ({
    name: 'file.list',
    method: 'GET',
    path: `${FILE}?download_session_id=${enc(sessionId)}`,
    decode: decodeWith(wire.sessionFileList),
  }),
  getFile: (sessionId, fileName) => ({
    name: 'file.get',
    method: 'POST',
    path: `${FILE}/id:${enc(sessionId)}?~action=get`,
    body: { file_name: fileName },
    decode: decodeWith(wire.sessionFile),
  }),
  prepareFile: (sessionId, fileName, endpointType) => ({
    name: 'file.prepare',
    method: 'POST',
    path: `${FILE}/id:${enc(sessionId)}?~action=prepare`,
    body: { file_name: fileName, endpoint_type: endpointType },
    decode: decodeWith(wire.sessionFile),
  }),

  listLibraries: () => ({ name: 'library.list', method: 'GET', path: CONTENT, decode: decodeWith(wire.stringList) }),
  findLibraries: (name) => ({ name: 'library.find', method: 'POST', path: `${CONTENT}?~action=find`, body: { spec: { name } }, decode: decodeWith(wire.stringList) }),
  listItems: (libraryId) => ({ name: 'item.list', method: 'GET', path: `${CONTENT}/item?library_id=${enc(libraryId)}`, decode: decodeWith(wire.stringList) }),
  getItem: (id) => ({ name: 'item.get', method: 'GET', path: `${CONTENT}/item/id:${enc(id)}`, decode: decodeWith(wire.libraryItem) }),
  listItemFiles: (id) => ({
    name: 'item.files',
    method: 'GET',
    path: `${CONTENT}/item/file?library_item_id=${enc(id)}`,
    decode: decodeWith(wire.libraryItemFileList),
  }),
  syncItem: (id, forceSyncContent) => ({
    name: 'item.sync',
    method: 'POST',
    path: `${CONTENT}/subscribed-item/id:${enc(id)}?~action=sync`,
    body: { force_sync_content: forceSyncContent },
    decode: noContent,
  }),

  unwrap(body) {
    return body !== null && typeof body === 'object' && 'value' in body ? body.value : body;
  },

  parseError(body): VapiErrorInfo {
    const parsed = wire.vapiErrorBody.safeParse(body);
    if (!parsed.success) return { messages: [] };
    const { type, value } = parsed.data;
    // `com.vmware.vapi.std.errors.not_found` -> `not_found`
    const errorType = type?.split('.').pop() ?? value?.error_type?.toLowerCase();
    return { errorType, messages: (value?.messages ?? []).filter((m): m is string => !!m) };
  },
};
