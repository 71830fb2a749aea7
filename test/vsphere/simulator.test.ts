import { createHash, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { isVapiError, LoginError, VCenterClient, type VapiCallEvent } from '../../src/vsphere/index.ts';
import { startSpecProxy, type SpecProxy } from '../support/spec-proxy.ts';

// The client's conformance suite against cldl's own simulator, in both dialects, through VMware's
// spec-checking proxy: zero violations on either side. It covers what vcsim cannot (the /api
// dialect, Range, idempotent create, sessions kept in ERROR/CANCELED, expiry, sync).
describe.each(['api', 'rest'] as const)('VCenterClient against the simulator (/%s)', (api) => {
  let sim: Simulator;
  let proxy: SpecProxy;
  let client: VCenterClient;
  const calls: VapiCallEvent[] = [];

  beforeAll(async () => {
    sim = await startSimulator({
      prepareDelayMs: 5,
      sessionIdleTimeoutMs: 60_000,
      users: { user: 'pass', other: 'secret' },
      items: [
        { name: 'photon.iso', files: [{ name: 'photon.iso', size: 3 * 1024 * 1024 + 11 }] },
        { name: 'tiny', manifest: true, files: [{ name: 'tiny.ovf', size: 500 }, { name: 'tiny-disk1.vmdk', size: 200_000 }] },
        { name: 'mirror.iso', subscribed: true, cached: false, files: [{ name: 'mirror.iso', size: 1000 }] },
      ],
    });
    proxy = await startSpecProxy(sim.url);
    // The proxy forwards vAPI calls; the simulator's data URLs name its own port.
    client = new VCenterClient({ url: proxy.url, username: 'user', password: 'pass', api, dataHosts: [new URL(sim.url).host], onCall: (e) => calls.push(e) });
  });

  afterEach(async () => {
    const { violations } = await proxy.report();
    expect(violations).toEqual([]);
    await proxy.reset();
  });

  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await sim?.stop();
  });

  const iso = () => sim.item('photon.iso').id;

  it('reads the API session, items and item files', async () => {
    expect(await client.dialect()).toBe(api);
    expect((await client.apiSessionInfo()).user).toBe('user');
    expect(await client.items.get(iso())).toMatchObject({ id: iso(), name: 'photon.iso', cached: true });
    const files = await client.items.listFiles(sim.item('tiny').id);
    expect(files.map((f) => f.name).sort()).toEqual(['tiny-disk1.vmdk', 'tiny.mf', 'tiny.ovf']);
  });

  it('creates idempotently with a client token, and lists by item', async () => {
    const token = randomUUID();
    const a = await client.sessions.create(iso(), token);
    const b = await client.sessions.create(iso(), token);
    expect(b).toBe(a);
    const other = await client.sessions.create(sim.item('tiny').id, randomUUID());
    expect(await client.sessions.list(iso())).toContain(a);
    expect(await client.sessions.list(iso())).not.toContain(other);
    expect(await client.sessions.list()).toEqual(expect.arrayContaining([a, other]));
    await client.sessions.delete(a);
    await client.sessions.delete(other);
  });

  it("lists only the calling user's sessions", async () => {
    const mine = await client.sessions.create(iso(), randomUUID());
    const theirs = new VCenterClient({ url: proxy.url, username: 'other', password: 'secret', api });
    try {
      expect(await theirs.sessions.list()).not.toContain(mine);
    } finally {
      await theirs.close();
    }
    await client.sessions.delete(mine);
  });

  it('prepares, waits, and downloads with Range through the data endpoint', async () => {
    const id = await client.sessions.create(iso(), randomUUID());
    await client.files.prepare(id, 'photon.iso');
    const [info] = await client.files.waitPrepared(id, ['photon.iso'], { timeoutMs: 5000, pollMs: 10 });
    expect(info).toMatchObject({ name: 'photon.iso', status: 'PREPARED', size: 3 * 1024 * 1024 + 11 });
    const endpoint = client.dataEndpoint(info!.downloadEndpoint);
    const first = await request(endpoint.url, { dispatcher: endpoint.dispatcher, headers: { ...(await endpoint.headers()), range: 'bytes=0-999999' } });
    const second = await request(endpoint.url, { dispatcher: endpoint.dispatcher, headers: { ...(await endpoint.headers()), range: 'bytes=1000000-' } });
    expect([first.statusCode, second.statusCode]).toEqual([206, 206]);
    const hash = createHash('sha1');
    hash.update(Buffer.from(await first.body.arrayBuffer()));
    hash.update(Buffer.from(await second.body.arrayBuffer()));
    const done = await client.files.get(id, 'photon.iso');
    expect(done.checksumInfo).toEqual({ algorithm: 'SHA1', checksum: hash.digest('hex') });
    expect(done.bytesTransferred).toBe(3 * 1024 * 1024 + 11);
    await client.sessions.keepAlive(id, 100);
    expect((await client.sessions.get(id)).clientProgress).toBe(100);
    await client.sessions.delete(id);
  });

  it('keeps a failed session in ERROR with the client message, and a canceled one CANCELED', async () => {
    const failed = await client.sessions.create(iso(), randomUUID());
    await client.sessions.fail(failed, 'disk full on /downloads');
    expect(await client.sessions.get(failed)).toMatchObject({ state: 'ERROR', errorMessage: 'disk full on /downloads' });
    const canceled = await client.sessions.create(iso(), randomUUID());
    await client.sessions.cancel(canceled);
    expect((await client.sessions.get(canceled)).state).toBe('CANCELED');
    await expect(client.sessions.keepAlive(canceled, 1)).rejects.toMatchObject({ errorType: 'not_allowed_in_current_state', status: 400 });
    await client.sessions.delete(failed);
    await client.sessions.delete(canceled);
  });

  it('refuses a progress that did not grow with invalid_argument', async () => {
    const id = await client.sessions.create(iso(), randomUUID());
    await client.sessions.keepAlive(id, 60);
    await expect(client.sessions.keepAlive(id, 60)).rejects.toMatchObject({ errorType: 'invalid_argument', retryable: false });
    await expect(client.sessions.keepAlive(id, 10)).rejects.toMatchObject({ errorType: 'invalid_argument', retryable: false });
    await client.sessions.keepAlive(id);
    await client.sessions.delete(id);
    // The two refusals were this test's own doing, and the referee saw them as the client's.
    const { violations } = await proxy.report();
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringContaining('keep_alive progress 60 is not greater than'),
      expect.stringContaining('keep_alive progress 10 is not greater than'),
    ]);
    await proxy.reset();
  });

  it('maps unknown ids to not_found', async () => {
    await expect(client.sessions.get('nope')).rejects.toMatchObject({ errorType: 'not_found', status: 404 });
    await expect(client.files.get('nope', 'x')).rejects.toMatchObject({ errorType: 'not_found' });
    await expect(client.items.get('nope')).rejects.toMatchObject({ errorType: 'not_found' });
  });

  it('reports a preparation that ends in ERROR with the server message', async () => {
    const id = await client.sessions.create(sim.item('tiny').id, randomUUID());
    const fault = sim.faults.add({ kind: 'prepare-error', file: 'tiny.ovf', message: 'datastore is gone' });
    await client.files.prepare(id, 'tiny.ovf');
    await expect(client.files.waitPrepared(id, ['tiny.ovf'], { timeoutMs: 5000, pollMs: 10 })).rejects.toMatchObject({
      code: 'CLDL_PREPARE_FAILED',
      message: 'vCenter could not prepare tiny.ovf for download: datastore is gone',
    });
    fault.remove();
    await client.sessions.delete(id);
  });

  it('rides out 503s on vAPI calls with its per-call retries', async () => {
    const fault = sim.faults.add({ kind: 'error', op: 'download_session.list', error: 'service_unavailable', times: 2 });
    expect(Array.isArray(await client.sessions.list())).toBe(true);
    expect(fault.hits).toBe(2);
    fault.remove();
  });

  it('logs in again after the API session was invalidated', async () => {
    const before = calls.filter((c) => c.operation === 'login').length;
    sim.invalidateApiSessions();
    expect(await client.items.get(iso())).toMatchObject({ name: 'photon.iso' });
    expect(calls.filter((c) => c.operation === 'login').length).toBe(before + 1);
  });

  it('sees an expired session as not_found', async () => {
    const id = await client.sessions.create(iso(), randomUUID());
    sim.expireSession(id);
    await expect(client.sessions.get(id)).rejects.toSatisfy((e: unknown) => isVapiError(e, 'not_found'));
  });

  it('synchronises a subscribed item until it is cached', async () => {
    const id = sim.item('mirror.iso').id;
    expect((await client.items.get(id)).cached).toBe(false);
    await client.items.sync(id, true);
    await expect.poll(async () => (await client.items.get(id)).cached, { timeout: 5000, interval: 20 }).toBe(true);
  });

  it('refuses wrong credentials with a LoginError', async () => {
    const bad = new VCenterClient({ url: proxy.url, username: 'user', password: 'wrong', api });
    try {
      await expect(bad.sessions.list()).rejects.toBeInstanceOf(LoginError);
    } finally {
      await bad.close();
    }
  });
});

describe('VCenterClient against the simulator over HTTPS', () => {
  it('trusts the simulator through its thumbprint and pins the download endpoint', async () => {
    const sim = await startSimulator({ tls: true, prepareDelayMs: 5, items: [{ name: 'a.iso', files: [{ name: 'a.iso', size: 70_000 }] }] });
    const client = new VCenterClient({ url: sim.url, username: 'user', password: 'pass', api: 'auto', tls: { thumbprint: sim.tls!.thumbprint } });
    try {
      expect(await client.dialect()).toBe('api');
      const id = await client.sessions.create(sim.item('a.iso').id, randomUUID());
      await client.files.prepare(id, 'a.iso');
      const [info] = await client.files.waitPrepared(id, ['a.iso'], { timeoutMs: 5000, pollMs: 10 });
      expect(info!.downloadEndpoint.sslCertificateThumbprint).toBe(sim.tls!.thumbprint);
      const endpoint = client.dataEndpoint(info!.downloadEndpoint);
      const res = await request(endpoint.url, { dispatcher: endpoint.dispatcher, headers: await endpoint.headers() });
      expect((await res.body.arrayBuffer()).byteLength).toBe(70_000);
    } finally {
      await client.close();
      await sim.stop();
    }
  });
});
