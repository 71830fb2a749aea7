import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { sharedTool } from '../support/shared-tools.ts';
import { type SpecProxy, startSpecProxy } from '../support/spec-proxy.ts';
import { call, DIALECTS, type FileInfo, VapiCaller } from './wire.ts';

/**
 * VMware's published 8.0.2 spec as the referee: every operation of both dialects, successes and
 * errors, goes through spec-proxy, and the simulator's side must show no violation at all.
 */

// Library-item writes are outside a download simulator: the only spec operations not served.
const NOT_SERVED = new Set([
  'POST /api/content/library/item',
  'PATCH /api/content/library/item/{library_item_id}',
  'DELETE /api/content/library/item/{library_item_id}',
  'POST /rest/com/vmware/content/library/item',
  'PATCH /rest/com/vmware/content/library/item/id:{library_item_id}',
  'DELETE /rest/com/vmware/content/library/item/id:{library_item_id}',
]);

function specOperations(): string[] {
  const spec = JSON.parse(readFileSync(sharedTool('vapi-spec', 'vsphere-8.0.2-content-download.json')!, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(spec.paths).flatMap(([key, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${key}`));
}

describe('conformance to the vSphere 8.0.2 spec (spec-proxy)', () => {
  let sim: Simulator;
  let proxy: SpecProxy;

  beforeAll(async () => {
    sim = await startSimulator({
      prepareDelayMs: 5,
      syncDelayMs: 5,
      items: [
        { name: 'disk', files: [{ name: 'disk.iso', size: 300_000 }, { name: 'notes.txt', size: 5, content: 'hello' }] },
        // One per dialect: the /rest walk syncs its own.
        ...DIALECTS.map((d) => ({ name: `sub-${d}`, subscribed: true, cached: false, files: [{ name: 'sub.iso', size: 10 }] })),
      ],
    });
    proxy = await startSpecProxy(sim.url);
  });

  afterAll(async () => {
    await proxy?.stop();
    await sim?.stop();
  });

  it.each(DIALECTS)('walks every operation over /%s, successes and errors', async (dialect) => {
    const c = new VapiCaller(proxy.url, dialect);
    const itemId = sim.item('disk').id;
    const subId = sim.item(`sub-${dialect}`).id;
    const loginPath = dialect === 'rest' ? '/rest/com/vmware/cis/session' : '/api/session';
    const status = (r: { status: number }): number => r.status;

    // Sessions.
    expect(status(await call(proxy.url, 'POST', loginPath, { headers: { authorization: 'Basic dXNlcjp3cm9uZw==' } }))).toBe(401);
    expect(status(await c.login())).toBe(dialect === 'rest' ? 200 : 201);
    expect(status(await c.sessionInfo())).toBe(200);

    // Libraries and items.
    const libs = c.value(await c.libraries()) as string[];
    expect(status(await c.findLibraries({ name: 'cldl-sim', type: 'LOCAL' }))).toBe(200);
    expect(status(await c.items(libs[0]!))).toBe(200);
    expect(status(await c.items('no-such-library'))).toBe(404);
    expect(status(await c.item(itemId))).toBe(200);
    expect(status(await c.item(subId))).toBe(200);
    expect(status(await c.item('no-such-item'))).toBe(404);
    expect(status(await c.itemFiles(itemId))).toBe(200);
    expect(status(await c.itemFiles('no-such-item'))).toBe(404);
    expect(status(await c.itemFile(itemId, 'disk.iso'))).toBe(200);
    expect(status(await c.itemFile(itemId, 'nope'))).toBe(404);
    expect(status(await c.sync(itemId, true))).toBe(400);
    expect(status(await c.sync('no-such-item', true))).toBe(404);

    // An uncached item: prepare ends in ERROR with an error_message.
    const subSession = await c.createId(subId);
    expect(status(await c.prepare(subSession, 'sub.iso'))).toBe(200);
    expect((await c.waitPrepared(subSession, 'sub.iso')).status).toBe('ERROR');
    expect(status(await c.files(subSession))).toBe(200);
    expect(status(await c.sync(subId, true))).toBe(dialect === 'rest' ? 200 : 204);

    // Download sessions.
    expect(status(await c.create('no-such-item'))).toBe(404);
    const id = await c.createId(itemId, `token-${dialect}`);
    expect(await c.createId(itemId, `token-${dialect}`)).toBe(id);
    expect(status(await c.list())).toBe(200);
    expect(status(await c.list(itemId))).toBe(200);
    expect(status(await c.list('no-such-item'))).toBe(404);
    expect(status(await c.get(id))).toBe(200);
    expect(status(await c.get('no-such-session'))).toBe(404);
    const ok = dialect === 'rest' ? 200 : 204;
    expect(status(await c.keepAlive(id))).toBe(ok);
    expect(status(await c.keepAlive(id, 40))).toBe(ok);
    expect(status(await c.keepAlive(id, 10))).toBe(400);
    expect(status(await c.keepAlive('no-such-session', 10))).toBe(404);

    // Files and data.
    expect(status(await c.files(id))).toBe(200);
    expect(status(await c.files('no-such-session'))).toBe(404);
    expect(status(await c.file(id, 'disk.iso'))).toBe(200);
    expect(status(await c.file(id, 'nope'))).toBe(400);
    expect(status(await c.file('no-such-session', 'disk.iso'))).toBe(404);
    expect(status(await c.prepare(id, 'nope'))).toBe(400);
    expect(status(await c.prepare('no-such-session', 'disk.iso'))).toBe(404);
    expect(status(await c.prepare(id, 'disk.iso', 'DIRECT'))).toBe(200);
    expect(status(await c.prepare(id, 'notes.txt'))).toBe(200);
    const info = await c.waitPrepared(id, 'disk.iso');
    await c.waitPrepared(id, 'notes.txt');
    const d = await c.download(info.download_endpoint!.uri, { range: 'bytes=0-' });
    expect(d.status).toBe(206);
    const done = c.value(await c.file(id, 'disk.iso')) as FileInfo;
    expect(done.checksum_info?.checksum).toBe(d.sha1);
    expect(status(await c.files(id))).toBe(200);

    // Injected errors, with each dialect's status.
    sim.faults.add({ kind: 'error', op: 'download_session.get', error: 'resource_busy', times: 1 });
    expect(status(await c.get(id))).toBe(dialect === 'rest' ? 400 : 500);
    sim.faults.add({ kind: 'error', op: 'file.prepare', error: 'unauthorized', times: 1 });
    expect(status(await c.prepare(id, 'disk.iso'))).toBe(403);
    sim.faults.add({ kind: 'error', op: 'login', error: 'service_unavailable', times: 1 });
    expect(status(await new VapiCaller(proxy.url, dialect).login())).toBe(503);

    // State rules.
    expect(status(await c.fail(id, 'disk.iso: checksum mismatch'))).toBe(ok);
    expect(status(await c.get(id))).toBe(200);
    expect(status(await c.fail(id, 'again'))).toBe(400);
    expect(status(await c.fail('no-such-session', 'x'))).toBe(404);
    const other = await c.createId(itemId);
    expect(status(await c.cancel(other))).toBe(ok);
    expect(status(await c.cancel(other))).toBe(400);
    expect(status(await c.prepare(other, 'disk.iso'))).toBe(400);
    expect(status(await c.cancel('no-such-session'))).toBe(404);
    expect(status(await c.keepAlive(other))).toBe(400);
    expect(status(await c.get(other))).toBe(200);
    expect(status(await c.delete(other))).toBe(ok);
    expect(status(await c.delete(other))).toBe(404);
    expect(status(await c.delete(id))).toBe(ok);

    // Unknown operation inside a vAPI family (not in the spec, so only the shape is checked).
    const unknown = await call(proxy.url, 'GET', dialect === 'rest' ? '/rest/com/vmware/content/nope' : '/api/content/nope', { token: c.token });
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toBe('application/json');

    // Unauthenticated and logged out.
    const token = c.token;
    c.token = null;
    expect(status(await c.libraries())).toBe(401);
    expect(status(await c.sessionInfo())).toBe(401);
    c.token = token;
    expect(status(await c.logout())).toBe(ok);
    expect(status(await c.sessionInfo())).toBe(401);
    expect(status(await c.logout())).toBe(401);
  });

  it('reaches every served spec operation with zero server-side violations', async () => {
    const report = await proxy.report();
    const server = report.violations.filter((v) => v.side === 'server');
    expect(server).toEqual([]);
    const expected = specOperations().filter((op) => !NOT_SERVED.has(op));
    expect(expected.length).toBe(specOperations().length - NOT_SERVED.size);
    expect(Object.keys(report.calls).sort()).toEqual(expected.sort());
    // Our own requests were written from the spec too: the only client-side findings are the
    // deliberately anonymous calls, the unknown operations and the deliberately lower progress.
    const client = report.violations.filter((v) => v.side === 'client');
    expect(client.every((v) => /no vmware-api-session-id header|login without Basic|unknown operation|keep_alive progress 10 is not greater than the session's current progress 40/.test(v.message))).toBe(true);
  });

  it('the referee does flag a server that breaks the spec (so zero means something)', async () => {
    // A vcsim-like server: plain-text 404s and a 200 where the spec says 201.
    const broken = http.createServer((req, res) => {
      if (req.url === '/api/session') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('"token"');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found');
      }
    });
    broken.listen(0, '127.0.0.1');
    await once(broken, 'listening');
    const p = await startSpecProxy(`http://127.0.0.1:${(broken.address() as AddressInfo).port}`);
    try {
      const c = new VapiCaller(p.url, 'api');
      await c.login();
      await c.get('x');
      const server = (await p.report()).violations.filter((v) => v.side === 'server').map((v) => v.message);
      expect(server).toEqual([
        expect.stringContaining('success status 200, the spec declares 201'),
        expect.stringContaining('error 404 with content-type text/plain'),
        expect.stringContaining('error 404 body is not JSON'),
      ]);
    } finally {
      await p.stop();
      broken.close();
    }
  });
});
