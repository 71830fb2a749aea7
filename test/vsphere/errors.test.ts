import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/cli/local-redis.ts';
import { CldlError } from '../../src/cldl-error.ts';
import {
  DataEndpointRejectedError,
  FilePreparationError,
  isRetryableVapiError,
  LoginError,
  ResponseTooLargeError,
  ThumbprintMismatchError,
  TlsVerificationError,
  VapiConnectionError,
  VapiError,
  VapiProtocolError,
  VCenterClient,
} from '../../src/vsphere/index.ts';
import { sendJson, startHttpServer, type TestServer } from '../support/http-server.ts';

// Error bodies as vCenter sends them (shapes from VMware's 8.0.2 spec and captured /rest answers).
const REST_NOT_FOUND = {
  type: 'com.vmware.vapi.std.errors.not_found',
  value: {
    error_type: 'NOT_FOUND',
    messages: [{ args: ['abc'], default_message: 'Download session abc does not exist.', id: 'com.vmware.vdcs.cls-main.session_not_found' }],
  },
};
const API_RESOURCE_BUSY = {
  error_type: 'RESOURCE_BUSY',
  messages: [{ args: [], default_message: 'The library item is being modified.', id: 'com.vmware.vdcs.cls-main.item_busy' }],
};

let server: TestServer | undefined;
let client: VCenterClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.stop();
  client = server = undefined;
});

/** A vCenter that logs in on either dialect and answers `route` for everything else. */
async function vcenter(route: (method: string, url: string, res: ServerResponse) => void, api: 'rest' | 'api' = 'api') {
  server = await startHttpServer((req, res) => {
    if (req.method === 'POST' && req.url === '/api/session') return sendJson(res, 201, 'token-1');
    if (req.method === 'POST' && req.url === '/rest/com/vmware/cis/session') return sendJson(res, 200, { value: 'token-1' });
    if (req.method === 'DELETE' && req.url?.endsWith('/session')) return res.writeHead(204).end();
    route(req.method ?? '', req.url ?? '', res);
  });
  client = new VCenterClient({ url: server.url, username: 'u', password: 'p', api, timeouts: { requestMs: 1000 } });
  return client;
}

describe('vAPI error mapping', () => {
  it('reads a /rest error body: type, message, status and operation', async () => {
    const c = await vcenter((_m, _u, res) => sendJson(res, 404, REST_NOT_FOUND), 'rest');
    const err = await c.sessions.get('abc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VapiError);
    expect(err).toMatchObject({
      code: 'CLDL_VAPI_NOT_FOUND',
      errorType: 'not_found',
      status: 404,
      operation: 'download_session.get',
      serverMessage: 'Download session abc does not exist.',
      retryable: false,
    });
    expect((err as Error).message).toBe('download_session.get failed: Download session abc does not exist. (not_found, HTTP 404)');
  });

  it('reads an /api error body; resource_busy (500 on /api) is retryable', async () => {
    const c = await vcenter((_m, _u, res) => sendJson(res, 500, API_RESOURCE_BUSY));
    await expect(c.sessions.create('item', 'tok')).rejects.toMatchObject({
      errorType: 'resource_busy',
      status: 500,
      retryable: true,
      serverMessage: 'The library item is being modified.',
    });
  });

  it('keeps a plain-text 404 as the message', async () => {
    const c = await vcenter((_m, _u, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n'), 'rest');
    await expect(c.items.get('x')).rejects.toMatchObject({ errorType: 'not_found', serverMessage: '404 page not found' });
  });

  it('gives a status-derived type to an error without a body', async () => {
    const c = await vcenter((_m, _u, res) => res.writeHead(502).end());
    await expect(c.sessions.list()).rejects.toMatchObject({ errorType: 'error', status: 502, retryable: true, serverMessage: 'HTTP 502 without a message' });
  });

  it('refuses a 2xx body that is not JSON, or not the model the spec promises', async () => {
    const c = await vcenter((_m, url, res) =>
      url.endsWith('/file')
        ? res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>')
        : sendJson(res, 200, { library_item_id: 'i', state: 'BOGUS' }),
    );
    const notJson = await c.files.list('s').catch((e: unknown) => e);
    expect(notJson).toBeInstanceOf(VapiProtocolError);
    expect((notJson as Error).message).toMatch(/file.list: unexpected answer from vCenter: body is not JSON: <html>/);
    const badState = await c.sessions.get('s').catch((e: unknown) => e);
    expect(badState).toBeInstanceOf(VapiProtocolError);
    expect((badState as Error).message).toMatch(/download_session.get: .*state/);
  });

  it('decodes the /api session model, including a LocalizableMessage error_message', async () => {
    const c = await vcenter((_m, _u, res) =>
      sendJson(res, 200, {
        library_item_id: 'item-1',
        state: 'ERROR',
        client_progress: 40,
        expiration_time: '2026-11-23T12:00:00.000Z',
        error_message: { id: 'x', default_message: 'disk full on /downloads', args: [] },
      }),
    );
    expect(await c.sessions.get('s1')).toEqual({
      id: 's1',
      libraryItemId: 'item-1',
      state: 'ERROR',
      clientProgress: 40,
      expirationTime: new Date('2026-11-23T12:00:00.000Z'),
      errorMessage: 'disk full on /downloads',
    });
  });

  it('turns a refused login into a LoginError naming the vCenter and user', async () => {
    server = await startHttpServer((_req, res) =>
      sendJson(res, 401, { error_type: 'UNAUTHENTICATED', messages: [{ id: 'x', default_message: 'Authentication required.', args: [] }] }),
    );
    client = new VCenterClient({ name: 'lab', url: server.url, username: 'alice', password: 'wrong', api: 'api' });
    const err = await client.sessions.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginError);
    expect((err as Error).message).toMatch(/vCenter lab \(http:\/\/127\.0\.0\.1:\d+\) refused the login of user alice: Authentication required\./);
    expect((err as Error).message).not.toContain('wrong');
  });

  it('logs in again once on 401 and repeats the call', async () => {
    let first = true;
    const c = await vcenter((_m, _u, res) => {
      if (first) {
        first = false;
        return sendJson(res, 401, { error_type: 'UNAUTHENTICATED', messages: [] });
      }
      sendJson(res, 200, ['s1']);
    });
    expect(await c.sessions.list()).toEqual(['s1']);
    expect(server!.requests.filter((r) => r.url === '/api/session').length).toBe(2);
  });

  it('picks /api in auto mode when the vCenter has it, sending Basic auth once', async () => {
    server = await startHttpServer((req, res) => {
      if (req.url === '/api/session') return sendJson(res, 201, 'tok');
      sendJson(res, 200, []);
    });
    client = new VCenterClient({ url: server.url, username: 'u', password: 'p', api: 'auto' });
    expect(await client.dialect()).toBe('api');
    await client.sessions.list();
    const [login, list] = server.requests;
    expect(login!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(login!.headers['vmware-use-header-authn']).toBe('true');
    expect(list!.headers['vmware-api-session-id']).toBe('tok');
    expect(list!.headers.authorization).toBeUndefined();
  });

  it('maps a refused connection to a retryable VapiConnectionError', async () => {
    const port = await freePort();
    client = new VCenterClient({ url: `http://127.0.0.1:${port}`, username: 'u', password: 'p', api: 'api' });
    const err = await client.sessions.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VapiConnectionError);
    expect(err).toMatchObject({ retryable: true, code: 'CLDL_VAPI_CONNECTION' });
    expect((err as Error).message).toMatch(/login failed: .*ECONNREFUSED/);
  });

  it('gives up on a silent server after the request timeout', async () => {
    const c = await vcenter(() => undefined); // never answers
    const err = await c.sessions.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VapiConnectionError);
    expect((err as Error).message).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+ within 1000 ms/);
  });

  it("rejects with the caller's abort reason, not a connection error", async () => {
    const c = await vcenter(() => undefined);
    const ac = new AbortController();
    const pending = c.sessions.list(undefined, ac.signal);
    const reason = new Error('job canceled');
    setTimeout(() => ac.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });
});

describe('the error table', () => {
  // One row per error class: its code, whether it is retryable, and that it is a CldlError with a cause.
  const cause = new Error('root');
  const rows: Array<[CldlError, string, boolean]> = [
    [new VapiError({ operation: 'op', status: 503, errorType: 'service_unavailable', serverMessage: 'm', cause }), 'CLDL_VAPI_SERVICE_UNAVAILABLE', true],
    [new VapiError({ operation: 'op', status: 400, errorType: 'invalid_argument', serverMessage: 'm' }), 'CLDL_VAPI_INVALID_ARGUMENT', false],
    [new VapiConnectionError('op', 'm', { cause }), 'CLDL_VAPI_CONNECTION', true],
    [new VapiProtocolError('op', 'm', { cause }), 'CLDL_VAPI_PROTOCOL', false],
    [new LoginError('m', { cause }), 'CLDL_VAPI_LOGIN_FAILED', false],
    [new FilePreparationError('CLDL_PREPARE_FAILED', 'f', 'm'), 'CLDL_PREPARE_FAILED', false],
    [new FilePreparationError('CLDL_PREPARE_TIMEOUT', 'f', 'm'), 'CLDL_PREPARE_TIMEOUT', true],
    [new ThumbprintMismatchError('h', 'A', 'B'), 'CLDL_TLS_THUMBPRINT_MISMATCH', false],
    [new TlsVerificationError('https://h', 'DEPTH_ZERO_SELF_SIGNED_CERT', { cause }), 'CLDL_TLS_VERIFY_FAILED', false],
    [new DataEndpointRejectedError('https://evil/x?t=1', 'host', 'm'), 'CLDL_DATA_ENDPOINT_REJECTED', false],
    [new ResponseTooLargeError({ operation: 'op', vcenter: 'vc', status: 200, limitBytes: 8 }), 'CLDL_RESPONSE_TOO_LARGE', false],
  ];
  it.each(rows)('%o has its code and retryability', (err, code, retryable) => {
    expect(err).toBeInstanceOf(CldlError);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    expect(err.name).toBe(err.constructor.name);
  });

  it('decides retryability by vAPI type first, then by status', () => {
    expect(isRetryableVapiError('concurrent_change', 409)).toBe(true);
    expect(isRetryableVapiError('not_allowed_in_current_state', 400)).toBe(false);
    expect(isRetryableVapiError('not_found', 500)).toBe(false);
    expect(isRetryableVapiError('some_future_type', 500)).toBe(true);
    expect(isRetryableVapiError('some_future_type', 429)).toBe(true);
    expect(isRetryableVapiError('some_future_type', 400)).toBe(false);
  });
});
