import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataEndpointRejectedError, VapiProtocolError, VCenterClient, type VCenterOptions } from '../../src/vsphere/index.ts';
import { sendJson, startHttpServer, type TestServer } from '../support/http-server.ts';
import { selfSignedCertificate, type TestCertificate } from '../support/tls-cert.ts';

// Which download endpoints receive our API session token (issue 12, D11). A regression looks like
// a plain http: data server, or another service on the vCenter's host, seeing `vmware-api-session-id`.

const TOKEN = 'session-token-1';
let cert: TestCertificate;
let vcenter: TestServer; // https: the vCenter and its own data URLs
let otherTls: TestServer; // https: another port on the same host
let plain: TestServer; // http: on the same host
let client: VCenterClient | undefined;

beforeAll(async () => {
  cert = await selfSignedCertificate();
  const data: Parameters<typeof startHttpServer>[0] = (req, res) => {
    if (req.url === '/api/session') return sendJson(res, 201, TOKEN);
    res.writeHead(200, { 'content-length': 5 }).end('bytes');
  };
  [vcenter, otherTls, plain] = await Promise.all([startHttpServer(data, cert), startHttpServer(data, cert), startHttpServer(data)]);
});
afterEach(async () => {
  await client?.close();
  client = undefined;
});
afterAll(() => Promise.all([vcenter, otherTls, plain].map((s) => s.stop())));

function connect(options: Partial<VCenterOptions> = {}, url = vcenter.url): VCenterClient {
  client = new VCenterClient({ url, username: 'u', password: 'p', api: 'api', tls: { ca: cert.cert }, ...options });
  return client;
}

const port = (s: TestServer) => new URL(s.url).port;
const tokensSeenBy = (s: TestServer) => s.requests.filter((r) => r.headers['vmware-api-session-id'] !== undefined).length;

/** What the transfer layer does with an endpoint: GET it with the session header. */
async function fetchWith(c: VCenterClient, uri: string): Promise<unknown> {
  try {
    const endpoint = c.dataEndpoint({ uri });
    const res = await request(endpoint.url, { dispatcher: endpoint.dispatcher, headers: await endpoint.headers() });
    return await res.body.text();
  } catch (err) {
    return err;
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('download endpoints of an https: vCenter', () => {
  it('never sends the session token to a plain http: endpoint on the vCenter host', async () => {
    const c = connect();
    const before = tokensSeenBy(plain);
    const err = await fetchWith(c, `${plain.url}/data/photon.iso?ticket=s3cret`);
    expect(err).toBeInstanceOf(DataEndpointRejectedError);
    expect(err).toMatchObject({ code: 'CLDL_DATA_ENDPOINT_REJECTED', rule: 'scheme', retryable: false });
    const message = (err as Error).message;
    expect(message).toContain(`download endpoint http://127.0.0.1:${port(plain)}/data/photon.iso?… refused`);
    expect(message).toMatch(/plain http: .* https: vCenter/);
    expect(message).not.toContain('s3cret');
    expect(tokensSeenBy(plain)).toBe(before);
  });

  it('refuses an https: endpoint on the vCenter host but another port', async () => {
    const c = connect();
    const before = tokensSeenBy(otherTls);
    const err = await fetchWith(c, `${otherTls.url}/data/f`);
    expect(err).toBeInstanceOf(DataEndpointRejectedError);
    expect(err).toMatchObject({ rule: 'host' });
    expect((err as Error).message).toContain(`not on an allowed host and port (127.0.0.1:${port(vcenter)})`);
    expect((err as Error).message).toContain(`add "127.0.0.1:${port(otherTls)}" to the vCenter's dataHosts`);
    expect(tokensSeenBy(otherTls)).toBe(before);
  });

  it('accepts the port a dataHosts entry names, or any port with host:*', async () => {
    expect(await fetchWith(connect({ dataHosts: [`127.0.0.1:${port(otherTls)}`] }), `${otherTls.url}/data/f`)).toBe('bytes');
    await client?.close();
    expect(await fetchWith(connect({ dataHosts: ['127.0.0.1:*'] }), `${otherTls.url}/data/f`)).toBe('bytes');
  });

  it('reads a dataHosts entry without a port as the default port of the endpoint scheme', () => {
    const c = connect({ dataHosts: ['esx01.example', '[fd00::1]', 'ESX02.Example:8443'] });
    expect(c.dataEndpoint({ uri: 'https://esx01.example/data/f' }).url).toBe('https://esx01.example/data/f');
    expect(c.dataEndpoint({ uri: 'https://esx01.example:443/data/f' }).url).toBe('https://esx01.example:443/data/f');
    expect(c.dataEndpoint({ uri: 'https://[fd00::1]/data/f' }).url).toBe('https://[fd00::1]/data/f');
    expect(c.dataEndpoint({ uri: 'https://esx02.example:8443/data/f' }).url).toBe('https://esx02.example:8443/data/f');
    expect(() => c.dataEndpoint({ uri: 'https://esx01.example:9443/data/f' })).toThrow(DataEndpointRejectedError);
    expect(() => c.dataEndpoint({ uri: 'https://esx02.example/data/f' })).toThrow(DataEndpointRejectedError);
  });

  it('refuses plain http: even for a dataHosts entry or *', () => {
    const c = connect({ dataHosts: ['*', 'esx01.example:80'] });
    expect(() => c.dataEndpoint({ uri: 'http://esx01.example/data/f' })).toThrow(expect.objectContaining({ rule: 'scheme' }));
    expect(c.dataEndpoint({ uri: 'https://anywhere.example:1234/data/f' }).url).toBe('https://anywhere.example:1234/data/f');
  });

  it('refuses other schemes and URIs that do not parse', () => {
    const c = connect();
    expect(() => c.dataEndpoint({ uri: 'file:///etc/passwd' })).toThrow(expect.objectContaining({ rule: 'scheme' }));
    const err = thrown(() => c.dataEndpoint({ uri: 'https://user:pw@[bad/data?x=1' }));
    expect(err).toBeInstanceOf(DataEndpointRejectedError);
    expect(err).toMatchObject({ rule: 'malformed' });
    expect((err as Error).message).not.toMatch(/pw|x=1/);
  });

  it('refuses a malformed dataHosts entry when the client is built', () => {
    for (const bad of ['https://esx01', 'esx01:99999', 'fd00::1', 'esx01/x']) {
      expect(() => connect({ dataHosts: [bad] }), bad).toThrow(/dataHosts entry/);
    }
  });

  it('makes a malformed thumbprint reported for an endpoint a non-retryable protocol error naming it', () => {
    const c = connect();
    const err = thrown(() => c.dataEndpoint({ uri: `${vcenter.url}/data/photon.iso?ticket=x`, sslCertificateThumbprint: '12:34' }));
    expect(err).toBeInstanceOf(VapiProtocolError);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toContain(
      `download endpoint https://127.0.0.1:${port(vcenter)}/data/photon.iso?… has a malformed ssl_certificate_thumbprint "12:34"`,
    );
  });
});

describe('download endpoints of an http: vCenter (labs, simulators)', () => {
  it('accepts plain http: on its own host and port, and still compares the port', async () => {
    const c = connect({}, plain.url);
    expect(await fetchWith(c, `${plain.url}/data/f`)).toBe('bytes');
    expect(() => c.dataEndpoint({ uri: 'http://127.0.0.1:1/data/f' })).toThrow(expect.objectContaining({ rule: 'host' }));
    expect(() => c.dataEndpoint({ uri: 'http://127.0.0.1/data/f' })).toThrow(expect.objectContaining({ rule: 'host' }));
  });

  it('reads a dataHosts entry without a port as port 80 for an http: endpoint', () => {
    const c = connect({ dataHosts: ['esx01.lab'] }, plain.url);
    expect(c.dataEndpoint({ uri: 'http://esx01.lab/data/f' }).url).toBe('http://esx01.lab/data/f');
    expect(c.dataEndpoint({ uri: 'https://esx01.lab/data/f' }).url).toBe('https://esx01.lab/data/f');
    expect(() => c.dataEndpoint({ uri: 'http://esx01.lab:8080/data/f' })).toThrow(DataEndpointRejectedError);
  });
});
