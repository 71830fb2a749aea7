import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/create-logger.ts';
import type { Logger } from 'pino';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { startCliWorker, type CliWorker } from '../support/cli.ts';
import { startDaemon, type RunningDaemon } from '../support/daemon.ts';
import { connectRedis, dropPrefix, REDIS_URL, testPrefix } from '../support/redis.ts';
import { simulatorWorkerEnv } from '../support/worker-env.ts';
import { repoRoot } from '../support/shared-tools.ts';

const MB = 1024 * 1024;
/** What a DELETE must carry: a header a cross-site HTML form cannot send. */
const INTENT = { 'x-cldl-request': '1' };
const ITEMS = [
  { name: 'small.iso', files: [{ name: 'small.iso', size: 2 * MB }] },
  { name: 'slow.iso', files: [{ name: 'slow.iso', size: 40 * MB }] },
];

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ prepareDelayMs: 5, items: ITEMS, users: { user: 'pass', svc: 'N0t-In-Any-Log-9f3a' } });
});
afterAll(async () => {
  await sim.stop();
});

type Running = RunningDaemon;
const daemon = (env: Record<string, string> = {}, logger?: Logger) => startDaemon(sim, env, logger);

async function call(base: string, method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json: json as Record<string, unknown> & { error?: { code: string; field?: string; message: string } }, text, headers: res.headers };
}

/** A request with headers fetch() will not send (Host among them). */
function raw(base: string, method: string, p: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { code: string; field?: string; message: string } } & Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${p}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, json: (res.headers['content-type'] === 'application/json' ? JSON.parse(text) : {}) as never }));
    });
    req.on('error', reject).end();
  });
}

describe('the admin HTTP server', () => {
  let d: Running;
  let url: string;
  beforeAll(async () => {
    d = await daemon();
    url = d.daemon.http.url;
  });
  afterAll(() => d.stop());

  it('answers /livez and /readyz with its checks', async () => {
    expect(await call(url, 'GET', '/livez')).toMatchObject({ status: 200, json: { status: 'ok' } });
    const ready = await call(url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ ready: true, checks: { shutdown: 'ok', running: 'ok', redis: 'ok', blockingConnection: 'ok' } });
  });

  it('queues a download with POST /downloads and follows it with GET', async () => {
    const posted = await call(url, 'POST', '/downloads', { id: 'http-1', libraryItemId: sim.item('small.iso').id, destination: 'http' });
    expect(posted.status).toBe(202);
    expect(posted.json).toEqual({ id: 'http-1', status: '/downloads/http-1' });
    expect(posted.headers.get('location')).toBe('/downloads/http-1');
    await expect.poll(async () => (await call(url, 'GET', '/downloads/http-1')).json.state, { timeout: 20_000 }).toBe('completed');
    const again = await call(url, 'POST', '/downloads', { id: 'http-1', libraryItemId: sim.item('small.iso').id, destination: 'http' });
    expect(again).toMatchObject({ status: 202, json: { id: 'http-1' } });
    const listed = await call(url, 'GET', '/downloads?state=completed');
    expect((listed.json.downloads as Array<{ id: string }>).map((x) => x.id)).toContain('http-1');
    expect(await call(url, 'DELETE', '/downloads/http-1', undefined, INTENT)).toMatchObject({ status: 202, json: { outcome: 'finished' } });
  });

  it('mirrors a library with POST /mirrors and follows the run with GET, under the same rules', async () => {
    const posted = await call(url, 'POST', '/mirrors', { library: 'cldl-sim', destination: 'mirror-http', items: 'small*' });
    expect(posted.status).toBe(202);
    const id = (posted.json as { id: string }).id;
    expect(posted.headers.get('location')).toBe(`/mirrors/${id}`);
    await expect.poll(async () => (await call(url, 'GET', `/mirrors/${id}`)).json.state, { timeout: 20_000 }).toBe('completed');
    const run = (await call(url, 'GET', `/mirrors/${id}`)).json as { items: Array<{ name: string; outcome: string }> };
    expect(run.items).toEqual([expect.objectContaining({ name: 'small.iso', action: 'download', outcome: 'done' })]);
    expect(((await call(url, 'GET', '/mirrors')).json.mirrors as Array<{ id: string }>).map((m) => m.id)).toContain(id);
    expect(await call(url, 'GET', '/mirrors/nope')).toMatchObject({ status: 404 });
    const bad = await call(url, 'POST', '/mirrors', { library: 'cldl-sim', destination: '../out' });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'CLDL_INVALID_REQUEST', field: 'destination' } } });
    expect((await call(url, 'POST', '/mirrors', undefined, { 'content-type': 'text/plain' })).status).toBe(415);
    const port = new URL(url).port;
    expect((await raw(url, 'GET', '/mirrors', { host: `evil.example:${port}` })).status).toBe(421);
  });

  it.each([
    [{ destination: 'x' }, 'libraryItemId'],
    [{ libraryItemId: 42, destination: 'x' }, 'libraryItemId'],
    [{ libraryItemId: 'i', destination: '../../etc' }, 'destination'],
    [{ libraryItemId: 'i', destination: '/etc' }, 'destination'],
    [{ libraryItemId: 'i', destination: 'x', vcenter: 'nowhere' }, 'vcenter'],
    [{ libraryItemId: 'x'.repeat(1_000_000), destination: 'x' }, 'libraryItemId'],
    [{ libraryItemId: 'i', destination: 'x', files: 'a.iso' }, 'files'],
    [{ libraryItemId: 'i', destination: 'x', surprise: true }, 'surprise'],
    [{ id: 12345, libraryItemId: 'i', destination: 'x' }, 'id'],
    [[1, 2], 'request'],
    ['{"libraryItemId": ', 'body'],
  ])('refuses %# with 400 naming %s', async (body, field) => {
    const res = await call(url, 'POST', '/downloads', body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ field });
    expect(res.json.error!.message.length).toBeLessThan(400);
  });

  it('refuses what is not a JSON request: 415, 413, 404, 405', async () => {
    expect((await call(url, 'POST', '/downloads', undefined, { 'content-type': 'text/plain' })).status).toBe(415);
    const huge = await call(url, 'POST', '/downloads', JSON.stringify({ libraryItemId: 'x'.repeat(3 * MB), destination: 'x' }));
    expect(huge).toMatchObject({ status: 413, json: { error: { code: 'CLDL_BODY_TOO_LARGE', field: 'body' } } });
    expect((await call(url, 'GET', '/downloads/nope')).status).toBe(404);
    expect((await call(url, 'DELETE', '/downloads/nope', undefined, INTENT)).status).toBe(404);
    expect((await call(url, 'PUT', '/downloads/nope')).status).toBe(405);
    expect((await call(url, 'POST', '/livez')).status).toBe(405);
    expect((await call(url, 'GET', '/nothing-here')).status).toBe(404);
  });

  it('serves records without the vCenter client token', async () => {
    const redis = connectRedis();
    // Any record with a token will do: http-1 has completed, and its token stays in Redis.
    expect(await redis.hget(`${d.prefix}:download:http-1`, 'clientToken')).toBeTruthy();
    await redis.quit();
    const one = await call(url, 'GET', '/downloads/http-1');
    expect(one.json).toMatchObject({ id: 'http-1', state: 'completed' });
    expect(one.text).not.toContain('clientToken');
    expect((await call(url, 'GET', '/downloads')).text).not.toContain('clientToken');
  });

  it('answers a malformed percent-encoded id with 400', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await raw(url, method, '/downloads/%E0%A4%A', INTENT);
      expect(res).toMatchObject({ status: 400, json: { error: { code: 'CLDL_INVALID_REQUEST', field: 'id' } } });
    }
  });

  // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 is same-origin with
  // this server as far as the browser knows, but its requests still say Host: evil.example.
  it('without a token, answers /downloads only to a loopback Host', async () => {
    const port = new URL(url).port;
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.2', '10.0.0.1:9464', 'localhost.evil.example', `127.0.0.1.nip.io:${port}`]) {
      for (const [method, p] of [['GET', '/downloads'], ['GET', '/downloads/http-1'], ['POST', '/downloads'], ['DELETE', '/downloads/http-1']] as const) {
        const res = await raw(url, method, p, { host, 'content-type': 'application/json', ...INTENT });
        expect(res.status, `${method} ${p} Host: ${host}`).toBe(421);
        expect(res.json.error).toMatchObject({ code: 'CLDL_HOST_NOT_ALLOWED' });
        expect(res.json.error!.message).toMatch(/only Host 127\.0\.0\.1, \[::1\] or localhost/);
      }
    }
    for (const host of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `LOCALHOST:${port}`, '[::1]', `[::1]:${port}`]) {
      expect((await raw(url, 'GET', '/downloads/http-1', { host })).status, host).toBe(200);
    }
    // Health and metrics answer any Host: an orchestrator probes them by the pod's address.
    for (const p of ['/livez', '/readyz', '/metrics']) expect((await raw(url, 'GET', p, { host: 'evil.example' })).status).toBe(200);
  });

  it('refuses a DELETE without X-CLDL-Request, which a cross-site form cannot send', async () => {
    const res = await call(url, 'DELETE', '/downloads/http-1');
    expect(res).toMatchObject({ status: 403, json: { error: { code: 'CLDL_HEADER_REQUIRED', field: 'x-cldl-request' } } });
    expect(res.json.error!.message).toMatch(/X-CLDL-Request: 1/);
    expect((await call(url, 'DELETE', '/downloads/http-1', undefined, INTENT)).status).toBe(202);
  });

  it('exposes the metrics, with no ids or URLs as labels', async () => {
    const res = await call(url, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    for (const line of [
      /^cldl_jobs\{state="completed"\} [1-9]/m,
      /^cldl_job_duration_seconds_count\{outcome="completed"\} [1-9]/m,
      /^cldl_download_bytes_total [1-9]\d+/m,
      /^cldl_transfers_active 0/m,
      /^cldl_keepalive_total\{outcome="ok"\} [1-9]/m,
      /^cldl_vapi_requests_total\{operation="download_session.create",outcome="ok"\} [1-9]/m,
      /^# TYPE cldl_retries_total counter/m,
      /^process_resident_memory_bytes \d+/m,
    ]) {
      expect(res.text).toMatch(line);
    }
    expect(res.text).not.toContain('http-1');
    expect(res.text).not.toContain(sim.item('small.iso').id);
    expect(res.text).not.toMatch(/127\.0\.0\.1:\d+/);
  });
});

describe('the HTTP API beyond loopback', () => {
  let d: Running | undefined;
  afterEach(async () => {
    await d?.stop();
    d = undefined;
  });

  it('requires the token on /downloads, but never on health and metrics', async () => {
    const token = 'a-token-of-sufficient-length';
    d = await daemon({ CLDL_HTTP_TOKEN: token });
    const url = d.daemon.http.url;
    const body = { libraryItemId: sim.item('small.iso').id, destination: 'tok' };
    expect((await call(url, 'POST', '/downloads', body)).status).toBe(401);
    expect((await call(url, 'POST', '/downloads', body, { authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(401);
    expect((await call(url, 'GET', '/downloads/x', undefined, { authorization: `Basic ${token}` })).status).toBe(401);
    const posted = await call(url, 'POST', '/downloads', body, { authorization: `Bearer ${token}` });
    expect(posted.status).toBe(202);
    // A token stands for the Host rule and the DELETE header: a browser cannot send it cross-site.
    const id = posted.json.id as string;
    expect((await raw(url, 'GET', `/downloads/${id}`, { host: 'cldl.example', authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await raw(url, 'DELETE', `/downloads/${id}`, { host: 'cldl.example', authorization: `Bearer ${token}` })).status).toBe(202);
    expect((await call(url, 'GET', '/readyz')).status).toBe(200);
    expect((await call(url, 'GET', '/metrics')).status).toBe(200);
  });

  it('keeps health and metrics but turns the download API off without a token', async () => {
    d = await daemon({ CLDL_HTTP_HOST: '0.0.0.0' });
    const url = d.daemon.http.url.replace('0.0.0.0', '127.0.0.1');
    const res = await call(url, 'POST', '/downloads', { libraryItemId: 'i', destination: 'x' });
    expect(res).toMatchObject({ status: 403, json: { error: { code: 'CLDL_API_DISABLED' } } });
    expect(res.json.error!.message).toMatch(/listens on 0\.0\.0\.0 without a token; set http.token/);
    expect((await call(url, 'GET', '/readyz')).status).toBe(200);
    expect((await call(url, 'GET', '/metrics')).status).toBe(200);
  });
});

describe('start-up warnings', () => {
  it('name a vCenter reached over plain http or without TLS verification', async () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const d = await daemon({ VCENTER_INSECURE: 'true' }, createLogger({ level: 'warn', pretty: 'never', destination: sink }));
    await d.stop();
    const warnings = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40)
      .map((l) => l.msg);
    expect(warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^vCenter default is plain http \(http:\/\/127\.0\.0\.1:\d+\)/), expect.stringMatching(/^vCenter default has TLS verification off/)]),
    );
  });
});

describe('a cldl worker process', () => {
  let w: CliWorker | undefined;
  const prefix = testPrefix();
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'cldl-root-'));
  });
  afterEach(async () => {
    await w?.stop('SIGKILL');
    w = undefined;
  });
  afterAll(async () => {
    const redis = connectRedis();
    await dropPrefix(redis, prefix);
    await redis.quit();
    await rm(root, { recursive: true, force: true });
  });

  it('turns not ready the moment SIGTERM arrives, requeues its download after the grace period, and exits 0', async () => {
    const bandwidth = sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 8 * MB });
    w = await startCliWorker({
      ...simulatorWorkerEnv(sim, prefix, root),
      CLDL_CONFIG: path.join(repoRoot, 'test/fixtures/grace-2s.json'),
    });
    expect((await call(w.url, 'GET', '/readyz')).status).toBe(200);
    const posted = await call(w.url, 'POST', '/downloads', { libraryItemId: sim.item('slow.iso').id, destination: 'slow' });
    const id = posted.json.id as string;
    await expect.poll(async () => ((await call(w!.url, 'GET', `/downloads/${id}`)).json.progress as { bytesDone: number }).bytesDone, { timeout: 10_000 }).toBeGreaterThan(0);
    const stopped = w.stop('SIGTERM');
    await w.waitFor((l) => l.msg === 'shutting down: no new jobs');
    const during = await call(w.url, 'GET', '/readyz');
    expect(during).toMatchObject({ status: 503, json: { ready: false, checks: { shutdown: 'shutting down' } } });
    expect((await call(w.url, 'GET', '/livez')).status).toBe(200);
    expect(await stopped).toEqual({ code: 0, signal: null });
    bandwidth.remove();
    const redis = connectRedis();
    expect(await redis.hget(`${prefix}:download:${id}`, 'state')).toBe('queued');
    await redis.quit();
  });

  it('never writes its vCenter password, session tokens or authorization headers to the log', async () => {
    const secret = 'N0t-In-Any-Log-9f3a';
    w = await startCliWorker({
      REDIS_URL,
      CLDL_REDIS_PREFIX: prefix,
      CLDL_DOWNLOAD_ROOT: root,
      VCENTER_URL: sim.url,
      VCENTER_USERNAME: 'svc',
      VCENTER_PASSWORD: secret,
      CLDL_LOG_LEVEL: 'trace',
    });
    const posted = await call(w.url, 'POST', '/downloads', { libraryItemId: sim.item('small.iso').id, destination: 'redact', overwrite: true });
    sim.invalidateApiSessions(); // a re-login mid-way: credentials and a new token in flight
    await expect.poll(async () => (await call(w!.url, 'GET', `/downloads/${posted.json.id as string}`)).json.state, { timeout: 20_000 }).toBe('completed');
    expect(await w.stop('SIGTERM')).toMatchObject({ code: 0 });
    const log = w.output();
    expect(log.length).toBeGreaterThan(1000);
    expect(log).toContain('"operation":"login"'); // it did log in, at trace level
    expect(log).not.toContain(secret);
    expect(log).not.toContain(Buffer.from(`svc:${secret}`).toString('base64'));
    expect(log).not.toMatch(/"vmware-api-session-id":"(?!\[redacted\])/);
  });
});

describe('createLogger', () => {
  it('redacts passwords, tokens, authorization and session headers wherever they sit', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const logger = createLogger({ level: 'info', pretty: 'never', destination: sink });
    logger.info(
      {
        password: 'p1',
        vcenter: { password: 'p2', token: 't1' },
        req: { headers: { authorization: 'Basic YWxpY2U6cDM=', 'vmware-api-session-id': 'abc123' } },
        sessionId: 'download-session-ids-are-fine',
      },
      'hello',
    );
    expect(out).not.toMatch(/p1|p2|t1|YWxpY2U6cDM=|abc123/);
    expect(out.match(/\[redacted\]/g)).toHaveLength(5);
    expect(out).toContain('download-session-ids-are-fine');
  });
});
