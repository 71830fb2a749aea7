import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { type FileInfo, readAll } from './wire.ts';

/** A server that breaks the rules a client relies on: bodies too long, slow prepares, per-flow limits. */

const ONE_MIB = 1024 * 1024;

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
    ['slow-prepare backwards', { kind: 'slow-prepare', ms: -1 }, /ms must be a non-negative number/],
    ['perConnection not a boolean', { kind: 'bandwidth', bytesPerSecond: 1, perConnection: 'yes' as unknown as boolean }, /perConnection must be a boolean/],
    ['an unknown kind', { kind: 'gremlins' } as unknown as FaultRule, /unknown fault kind "gremlins"/],
  ])('refuses %s', async (_what, rule, message) => {
    const { sim: s } = await start({});
    expect(() => s.faults.add(rule)).toThrow(message);
  });
});
