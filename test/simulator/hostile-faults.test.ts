import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { DIALECTS, type FileInfo, readAll, type Reply, until } from './wire.ts';

/** A server that breaks the rules a client relies on: bodies too long, answers too big, a wrong clock. */

const ONE_MIB = 1024 * 1024;
const HOUR = 3_600_000;

const { start } = useSimulator({ checksumsAtStart: false });

const disk = (size: number) => [{ name: 'disk', files: [{ name: 'disk.iso', size }, { name: 'other.iso', size }] }];

describe('overlong', () => {
  it('sends junk past the end, chunked without Content-Length, for the named file, `times` times', async () => {
    const size = 10_000;
    const { sim: s, caller: c } = await start({ items: disk(size) });
    const itemId = s.item('disk').id;
    const truth = await readAll(s.fileContent(itemId, 'disk.iso'));
    const { session, uri } = await c.preparedFile(itemId, 'disk.iso');
    const fault = s.faults.add({ kind: 'overlong', extraBytes: 5000, file: 'disk.iso', times: 2 });

    const long = await c.download(uri);
    expect(long.status).toBe(200);
    expect(long.headers['content-length']).toBeUndefined();
    expect(long.headers['transfer-encoding']).toBe('chunked');
    expect(long.error).toBeUndefined();
    expect(long.bytes).toBe(size + 5000);
    expect(long.body!.subarray(0, size).equals(truth)).toBe(true);
    expect(long.body!.subarray(size).every((b) => b === 0x5a)).toBe(true);

    // Past the end of a range, too; Content-Range still names the range.
    const ranged = await c.download(uri, { range: 'bytes=100-199' });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 100-199/${size}`);
    expect(ranged.bytes).toBe(100 + 5000);
    expect(fault.hits).toBe(2);

    // Then as before; and the junk never counts as file bytes.
    const normal = await c.download(uri);
    expect(normal.headers['content-length']).toBe(String(size));
    expect(normal.bytes).toBe(size);
    expect(s.inspect().dataRequests.map((r) => r.bytesSent)).toEqual([size, 100, size]);
    expect((c.value(await c.file(session, 'disk.iso')) as FileInfo).bytes_transferred).toBe(2 * size + 100);
  });

  it('leaves other files alone', async () => {
    const { sim: s, caller: c } = await start({ items: disk(1000) });
    const { uri } = await c.preparedFile(s.item('disk').id, 'other.iso');
    const fault = s.faults.add({ kind: 'overlong', extraBytes: 10, file: 'disk.iso' });
    expect((await c.download(uri)).bytes).toBe(1000);
    expect(fault.hits).toBe(0);
  });
});

describe.each(DIALECTS)('huge-json over /%s', (dialect) => {
  const wrapped = (v: unknown): unknown => (dialect === 'rest' ? { value: v } : v);

  it('pads the answer of one operation to exactly `bytes` of valid JSON, `times` times', async () => {
    const { sim: s, caller: c } = await start({ items: disk(10) }, dialect);
    const itemId = s.item('disk').id;
    const id = await c.createId(itemId);
    const plain = await c.get(id);
    const fault = s.faults.add({ kind: 'huge-json', op: 'download_session.get', bytes: 3_000_000, times: 1 });
    const huge = await c.get(id);
    expect(huge.status).toBe(200);
    expect(huge.headers['content-length']).toBe('3000000');
    expect(Buffer.byteLength(huge.text)).toBe(3_000_000);
    // Each get is activity, so only expiration_time may differ.
    const model = (json: unknown): Record<string, unknown> => {
      const { expiration_time: _moved, ...rest } = c.value({ json } as Reply) as Record<string, unknown>;
      return rest;
    };
    const { padding, ...unpadded } = huge.json as { padding: string };
    expect(padding).toMatch(/^x+$/);
    expect(model(unpadded)).toEqual(model(plain.json));
    expect(fault.hits).toBe(1);
    const after = await c.get(id);
    expect(after.text.length).toBe(plain.text.length);
    expect(model(after.json)).toEqual(model(plain.json));
  });

  it('pads a bare string with leading whitespace, and an error answer too', async () => {
    const { sim: s, caller: c } = await start({ items: disk(10) }, dialect);
    s.faults.add({ kind: 'huge-json', op: 'download_session.create', bytes: 100_000, times: 1 });
    const created = await c.create(s.item('disk').id);
    expect(created.text.length).toBe(100_000);
    expect(c.value(created)).toMatch(/^[0-9a-f-]{36}$/);
    if (dialect === 'api') expect(created.text.startsWith(' ')).toBe(true);
    s.faults.add({ kind: 'huge-json', op: 'download_session.get', bytes: 100_000 });
    const missing = await c.get('no-such-session');
    expect(missing.status).toBe(404);
    expect(missing.text.length).toBe(100_000);
    expect(missing.json).toMatchObject(wrapped({ error_type: 'NOT_FOUND' }) as object);
  });
});

describe('huge-json at 256 MiB', () => {
  it('streams it without holding it in memory', async () => {
    const { sim: s, caller: c } = await start({});
    s.faults.add({ kind: 'huge-json', op: 'library.list', bytes: 256 * ONE_MIB });
    const before = process.memoryUsage().rss;
    let peak = before;
    const res = await request(`${s.url}/api/content/library`, { headers: { 'vmware-api-session-id': c.token! } });
    expect(res.headers['content-length']).toBe(String(256 * ONE_MIB));
    let bytes = 0;
    let last = 0;
    for await (const chunk of res.body) {
      bytes += (chunk as Buffer).length;
      last = (chunk as Buffer).at(-1)!;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(bytes).toBe(256 * ONE_MIB);
    // The body is a list of ids: whitespace, then the array.
    expect(String.fromCharCode(last)).toBe(']');
    // Server and client share this process; buffering the body whole would cost over 256 MiB.
    expect(peak - before).toBeLessThan(96 * ONE_MIB);
  });
});

describe.each(DIALECTS)('clock-skew over /%s', (dialect) => {
  it('skews the Date header and every reported time, while expiry runs on real time', async () => {
    const { sim: s, caller: c } = await start({ sessionIdleTimeoutMs: 1500, items: disk(100) }, dialect);
    const itemId = s.item('disk').id;
    const { session, uri } = await c.preparedFile(itemId, 'disk.iso');
    const near = (iso: string | undefined, expected: number): void => {
      expect(Math.abs(Date.parse(iso!) - expected)).toBeLessThan(5000);
    };
    // Without skew, Node's own Date header.
    near((await c.libraries()).headers.date as string, Date.now());

    s.faults.add({ kind: 'clock-skew', ms: HOUR });
    const got = await c.get(session);
    near(got.headers.date as string, Date.now() + HOUR);
    near((c.value(got) as { expiration_time: string }).expiration_time, Date.now() + HOUR + 1500);
    const item = c.value(await c.item(itemId)) as { creation_time: string; last_modified_time: string };
    near(item.creation_time, Date.now() + HOUR);
    near(item.last_modified_time, Date.now() + HOUR);
    const info = await c.sessionInfo();
    near((c.value(info) as { created_time: string }).created_time, Date.now() + HOUR);
    // Errors and data responses carry it too.
    near((await c.get('no-such-session')).headers.date as string, Date.now() + HOUR);
    near((await c.download(uri)).headers.date as string, Date.now() + HOUR);

    // Real time decides expiry: a session used 1 s ago lives, whatever the skewed clock says...
    await new Promise((r) => setTimeout(r, 1000));
    expect((await c.get(session)).status).toBe(200);
    // ...and one idle past the timeout in real time is gone (inspect() is no activity).
    await until(() => s.inspect().sessions[0]!.gone === 'expired', 5000, 'real-time expiry');
    expect((await c.get(session)).status).toBe(404);

    // The latest rule wins; removed, the clock is right again.
    s.faults.add({ kind: 'clock-skew', ms: -HOUR });
    near((await c.libraries()).headers.date as string, Date.now() - HOUR);
    s.faults.clear();
    near((await c.libraries()).headers.date as string, Date.now());
  });
});

describe('slow-prepare', () => {
  it('keeps a file PREPARING `ms` longer, then PREPARED; other files are not slowed', async () => {
    const { sim: s, caller: c } = await start({ prepareDelayMs: 10, items: disk(10) });
    const fault = s.faults.add({ kind: 'slow-prepare', ms: 400, file: 'disk.iso', times: 1 });
    const session = await c.createId(s.item('disk').id);
    const t0 = performance.now();
    await c.prepare(session, 'disk.iso');
    await c.prepare(session, 'other.iso');
    expect((await c.waitPrepared(session, 'other.iso')).status).toBe('PREPARED');
    expect((c.value(await c.file(session, 'disk.iso')) as FileInfo).status).toBe('PREPARING');
    expect((await c.waitPrepared(session, 'disk.iso')).status).toBe('PREPARED');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400);
    expect(fault.hits).toBe(1);
  });
});

describe('per-connection bandwidth', () => {
  it('caps each response on its own, so parallel Range requests add up; Range still works', async () => {
    const size = ONE_MIB;
    const { sim: s, caller: c } = await start({ items: disk(size) });
    const itemId = s.item('disk').id;
    const truth = await readAll(s.fileContent(itemId, 'disk.iso'));
    const { uri } = await c.preparedFile(itemId, 'disk.iso');
    const rate = ONE_MIB / 2;
    s.faults.add({ kind: 'bandwidth', bytesPerSecond: rate, perConnection: true });
    const quarter = size / 4;

    // One response: a quarter at half a MiB/s, less the first piece sent at once (1/20 s).
    let t0 = performance.now();
    expect((await c.download(uri, { range: `bytes=0-${quarter - 1}` })).bytes).toBe(quarter);
    expect(performance.now() - t0).toBeGreaterThan(400);

    // Four quarters in parallel: each capped alone, so about as long as one. Under one shared cap
    // they would take four times that (nearly 2 s).
    t0 = performance.now();
    const parts = await Promise.all([0, 1, 2, 3].map((i) => c.download(uri, { range: `bytes=${i * quarter}-${(i + 1) * quarter - 1}` })));
    const elapsed = performance.now() - t0;
    expect(parts.map((p) => p.status)).toEqual([206, 206, 206, 206]);
    expect(Buffer.concat(parts.map((p) => p.body!)).equals(truth)).toBe(true);
    expect(elapsed).toBeGreaterThan(400);
    expect(elapsed).toBeLessThan(1400);
  });

  it('a shared cap and a per-connection cap both apply', async () => {
    const { sim: s, caller: c } = await start({ items: disk(ONE_MIB / 2) });
    const { uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    s.faults.add({ kind: 'bandwidth', bytesPerSecond: 4 * ONE_MIB, perConnection: true });
    s.faults.add({ kind: 'bandwidth', bytesPerSecond: ONE_MIB });
    const t0 = performance.now();
    await Promise.all([c.download(uri), c.download(uri)]);
    // 1 MiB under the shared 1 MiB/s, whatever each connection may do.
    expect(performance.now() - t0).toBeGreaterThan(850);
  });
});

describe('new fault rules are validated like the others', () => {
  it.each<[string, FaultRule, RegExp]>([
    ['overlong without extra bytes', { kind: 'overlong', extraBytes: 0 }, /extraBytes must be a positive integer/],
    ['huge-json on data', { kind: 'huge-json', op: 'data' as 'login', bytes: 10 }, /data answers are file bytes/],
    ['huge-json on an unknown operation', { kind: 'huge-json', op: 'nope' as 'login', bytes: 10 }, /unknown operation nope/],
    ['huge-json of no size', { kind: 'huge-json', op: 'login', bytes: -1 }, /bytes must be a positive integer/],
    ['clock-skew of no number', { kind: 'clock-skew', ms: Number.NaN }, /ms must be a number/],
    ['slow-prepare backwards', { kind: 'slow-prepare', ms: -1 }, /ms must be a non-negative number/],
    ['perConnection not a boolean', { kind: 'bandwidth', bytesPerSecond: 1, perConnection: 'yes' as unknown as boolean }, /perConnection must be a boolean/],
    ['an unknown kind', { kind: 'gremlins' } as unknown as FaultRule, /unknown fault kind "gremlins"/],
  ])('refuses %s', async (_what, rule, message) => {
    const { sim: s } = await start({});
    expect(() => s.faults.add(rule)).toThrow(message);
  });
});
