import { afterEach, describe, expect, it } from 'vitest';
import { VCenterClient } from '../../src/vsphere/index.ts';
import { sendJson, startHttpServer, type TestServer } from '../support/http-server.ts';

// The server's notion of now (issue 12, B8): vCenter's `expiration_time` is on vCenter's clock, so
// a worker whose clock runs ahead computed a negative time left and kept-alive ~5 times a second.

const MINUTE = 60_000;
let server: TestServer | undefined;
let client: VCenterClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.stop();
  client = server = undefined;
});

/** A vCenter whose clock is `skewMs` off ours, as its Date header says (or no Date header at all). */
async function vcenter(skew: () => number | undefined): Promise<VCenterClient> {
  server = await startHttpServer((req, res) => {
    const ms = skew();
    if (ms === undefined) res.sendDate = false;
    else res.setHeader('date', new Date(Date.now() + ms).toUTCString());
    if (req.url === '/api/session') return req.method === 'DELETE' ? res.writeHead(204).end() : sendJson(res, 201, 'tok');
    sendJson(res, 200, []);
  });
  client = new VCenterClient({ url: server.url, username: 'u', password: 'p', api: 'api' });
  return client;
}

describe("the server's clock", () => {
  it('follows the Date header of vAPI answers: a vCenter 10 minutes ahead', async () => {
    const c = await vcenter(() => 10 * MINUTE);
    await c.sessions.list();
    expect(Math.abs(c.serverNow() - (Date.now() + 10 * MINUTE))).toBeLessThan(2_000);
    expect(Math.abs(c.sessions.serverNow() - (Date.now() + 10 * MINUTE))).toBeLessThan(2_000);
  });

  it('follows a vCenter behind us, and the latest answer when its clock is corrected', async () => {
    let skew = -7 * MINUTE;
    const c = await vcenter(() => skew);
    await c.sessions.list();
    expect(Math.abs(c.serverNow() - (Date.now() - 7 * MINUTE))).toBeLessThan(2_000);
    skew = 0;
    await c.sessions.list();
    expect(Math.abs(c.serverNow() - Date.now())).toBeLessThan(2_000);
  });

  it('is our own clock before any answer, and when answers carry no Date', async () => {
    const c = await vcenter(() => undefined);
    expect(Math.abs(c.serverNow() - Date.now())).toBeLessThan(50);
    await c.sessions.list();
    expect(server!.requests.length).toBeGreaterThan(0);
    expect(Math.abs(c.serverNow() - Date.now())).toBeLessThan(50);
  });

  it('reads the Date of error answers too', async () => {
    server = await startHttpServer((_req, res) => {
      res.setHeader('date', new Date(Date.now() + 3 * MINUTE).toUTCString());
      sendJson(res, 503, { error_type: 'SERVICE_UNAVAILABLE', messages: [] });
    });
    client = new VCenterClient({ url: server.url, username: 'u', password: 'p', api: 'api', retry: { attempts: 1 } });
    await expect(client.login()).rejects.toMatchObject({ status: 503 });
    expect(Math.abs(client.serverNow() - (Date.now() + 3 * MINUTE))).toBeLessThan(2_000);
  });
});
