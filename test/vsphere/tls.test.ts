import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DataEndpointRejectedError,
  normalizeThumbprint,
  ThumbprintMismatchError,
  TlsVerificationError,
  VCenterClient,
  type VCenterOptions,
} from '../../src/vsphere/index.ts';
import { sendJson, startHttpServer, type TestServer } from '../support/http-server.ts';
import { selfSignedCertificate, type TestCertificate } from '../support/tls-cert.ts';

let cert: TestCertificate;
let other: TestCertificate;
let server: TestServer;
let client: VCenterClient | undefined;

beforeAll(async () => {
  [cert, other] = await Promise.all([selfSignedCertificate(), selfSignedCertificate()]);
  server = await startHttpServer((req, res) => {
    if (req.url === '/api/session') return sendJson(res, 201, 'tok');
    if (req.url?.startsWith('/data/')) {
      if (req.headers['vmware-api-session-id'] !== 'tok') return res.writeHead(401).end();
      return res.writeHead(200, { 'content-length': 5 }).end('bytes');
    }
    sendJson(res, 200, []);
  }, cert);
});
afterEach(async () => {
  await client?.close();
  client = undefined;
});
afterAll(() => server.stop());

function connect(options: Partial<VCenterOptions>): VCenterClient {
  client = new VCenterClient({ url: server.url, username: 'u', password: 'p', api: 'api', ...options });
  return client;
}

describe('TLS to vCenter', () => {
  it('verifies certificates by default and explains how to trust a self-signed one', async () => {
    const err = await connect({}).sessions.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsVerificationError);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toMatch(/TLS verification of https:\/\/127\.0\.0\.1:\d+ failed \(.*SELF_SIGNED.*\); configure the vCenter's CA bundle or its thumbprint/);
  });

  it('trusts a configured CA bundle', async () => {
    expect(await connect({ tls: { ca: cert.cert } }).sessions.list()).toEqual([]);
  });

  it('accepts a matching pinned thumbprint in any notation', async () => {
    const lower = cert.thumbprint.replace(/:/g, '').toLowerCase();
    expect(await connect({ tls: { thumbprint: lower } }).sessions.list()).toEqual([]);
  });

  it('refuses a certificate that does not match the pinned thumbprint, before sending anything', async () => {
    const before = server.requests.length;
    const err = await connect({ tls: { thumbprint: other.thumbprint } }).sessions.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThumbprintMismatchError);
    expect((err as Error).message).toContain(`has thumbprint ${cert.thumbprint}, but ${other.thumbprint} was expected`);
    expect(server.requests.length).toBe(before);
  });

  it('skips verification only when insecure is opted into', async () => {
    expect(await connect({ tls: { insecure: true } }).sessions.list()).toEqual([]);
  });

  it('rejects a malformed thumbprint with a clear error', () => {
    expect(() => normalizeThumbprint('12:34')).toThrow(/not a SHA-1 or SHA-256 certificate thumbprint: 12:34/);
    expect(() => normalizeThumbprint('12:34')).toThrow(expect.objectContaining({ code: 'CLDL_INVALID_ARGUMENT', retryable: false }));
  });
});

describe('download endpoints', () => {
  it('accepts a self-signed download endpoint whose certificate matches the thumbprint vCenter reports', async () => {
    const c = connect({ tls: { thumbprint: cert.thumbprint } });
    const endpoint = c.dataEndpoint({ uri: `${server.url}/data/f`, sslCertificateThumbprint: cert.thumbprint.toLowerCase() });
    const res = await request(endpoint.url, { dispatcher: endpoint.dispatcher, headers: await endpoint.headers() });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('bytes');
  });

  it('refuses a download endpoint whose certificate does not match the reported thumbprint', async () => {
    const c = connect({ tls: { thumbprint: cert.thumbprint } });
    const endpoint = c.dataEndpoint({ uri: `${server.url}/data/f`, sslCertificateThumbprint: other.thumbprint });
    const err = await request(endpoint.url, { dispatcher: endpoint.dispatcher, headers: await endpoint.headers() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThumbprintMismatchError);
  });

  it('never sends the session token to a host that is not the vCenter', () => {
    const c = connect({ tls: { insecure: true } });
    expect(() => c.dataEndpoint({ uri: 'https://attacker.example/steal' })).toThrow(DataEndpointRejectedError);
    expect(() => c.dataEndpoint({ uri: 'https://attacker.example/steal' })).toThrow(/not on an allowed host and port \(127\.0\.0\.1:\d+\)/);
    expect(() => c.dataEndpoint({ uri: 'file:///etc/passwd' })).toThrow(DataEndpointRejectedError);
    const allowed = new VCenterClient({ url: server.url, username: 'u', password: 'p', dataHosts: ['esx1.lab'] });
    expect(allowed.dataEndpoint({ uri: 'https://esx1.lab/data' }).url).toBe('https://esx1.lab/data');
    return allowed.close();
  });

  it('drops a token after a 401 on a data URL so the next request logs in again', async () => {
    const c = connect({ tls: { thumbprint: cert.thumbprint } });
    const endpoint = c.dataEndpoint({ uri: `${server.url}/data/f` });
    const first = await endpoint.headers();
    await endpoint.unauthorized(first);
    const logins = server.requests.filter((r) => r.url === '/api/session').length;
    await endpoint.headers();
    expect(server.requests.filter((r) => r.url === '/api/session').length).toBe(logins + 1);
  });
});
