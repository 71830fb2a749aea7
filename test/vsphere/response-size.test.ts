import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ResponseTooLargeError, VCenterClient, type VapiCallEvent, type VCenterOptions } from '../../src/vsphere/index.ts';
import { sendJson, startHttpServer, type TestServer } from '../support/http-server.ts';

// vAPI answers are read under a byte cap (issue 12, D12). A regression looks like a 256 MiB
// `item.get` answer read whole: the worker went from 108 to 1145 MiB RSS before failing to decode it.

const MiB = 1024 * 1024;
let server: TestServer | undefined;
let client: VCenterClient | undefined;
let sent = 0; // body bytes the server managed to write

afterEach(async () => {
  await client?.close();
  await server?.stop();
  client = server = undefined;
});

/** A vCenter that logs in and answers every other call with `route`. */
async function vcenter(route: (res: ServerResponse) => void, options: Partial<VCenterOptions> = {}): Promise<VCenterClient> {
  sent = 0;
  server = await startHttpServer((req, res) => {
    if (req.url === '/api/session') return req.method === 'DELETE' ? res.writeHead(204).end() : sendJson(res, 201, 'tok');
    route(res);
  });
  client = new VCenterClient({ name: 'lab', url: server.url, username: 'u', password: 'p', api: 'api', ...options });
  return client;
}

/** `bytes` of a JSON string, streamed in 1 MiB pieces as the socket drains: the server never holds it. */
function streamJsonString(res: ServerResponse, status: number, bytes: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  const piece = Buffer.alloc(MiB, 'a');
  res.write('"');
  sent = 1;
  res.on('error', () => undefined);
  const pump = () => {
    while (sent < bytes - 1) {
      if (res.destroyed) return;
      const n = Math.min(piece.length, bytes - 1 - sent);
      sent += n;
      if (!res.write(n === piece.length ? piece : piece.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end('"');
  };
  pump();
}

describe('vAPI response size', () => {
  it('fails a 256 MiB answer at the 8 MiB default cap without reading on, and memory stays bounded', async () => {
    const calls: VapiCallEvent[] = [];
    const c = await vcenter((res) => streamJsonString(res, 200, 256 * MiB), { onCall: (e) => calls.push(e) });
    await c.login();
    global.gc?.();
    const before = process.memoryUsage().rss;
    const err = await c.items.get('item-1').catch((e: unknown) => e);
    const grown = process.memoryUsage().rss - before;

    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err).toMatchObject({ code: 'CLDL_RESPONSE_TOO_LARGE', retryable: false, operation: 'item.get', vcenter: 'lab', limitBytes: 8 * MiB });
    expect((err as Error).message).toBe(
      'item.get: vCenter lab answered HTTP 200 with a body over the 8 MiB cap (maxResponseBytes); not reading it',
    );
    expect(grown).toBeLessThan(64 * MiB);
    expect(sent).toBeLessThan(64 * MiB); // the client hung up rather than draining the rest
    expect(calls.at(-1)).toMatchObject({ operation: 'item.get', outcome: 'error', status: 200 });
  });

  it('caps error bodies too, and does not retry them though HTTP 500 would be', async () => {
    const c = await vcenter((res) => streamJsonString(res, 500, 64 * MiB), { maxResponseBytes: MiB });
    const err = await c.sessions.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err).toMatchObject({ status: 500, limitBytes: MiB, retryable: false });
    expect((err as Error).message).toMatch(/download_session.list: vCenter lab answered HTTP 500 with a body over the 1 MiB cap/);
    expect(server!.requests.filter((r) => r.url !== '/api/session')).toHaveLength(1);
  });

  it('refuses a declared Content-Length over the cap before reading a byte of it', async () => {
    const c = await vcenter((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2048 });
      res.write('"'); // and then nothing: reading would wait for the request timeout
    }, { maxResponseBytes: 1024, timeouts: { requestMs: 20_000 } });
    const started = performance.now();
    await expect(c.items.get('item-1')).rejects.toMatchObject({ code: 'CLDL_RESPONSE_TOO_LARGE', limitBytes: 1024 });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('reads an answer of exactly the cap', async () => {
    const id = 's'.padEnd(1020, 's');
    const body = JSON.stringify([id]); // 1024 bytes
    expect(Buffer.byteLength(body)).toBe(1024);
    const c = await vcenter((res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body), { maxResponseBytes: 1024 });
    expect(await c.sessions.list()).toEqual([id]);
  });
});
