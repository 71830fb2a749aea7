import { describe, expect, it } from 'vitest';
import { STAMP_BLOCK } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { DIALECTS, readAll, sha1 } from './wire.ts';

const ONE_MIB = 1024 * 1024;
const GIB = 1024 ** 3;

describe('download endpoint', () => {
  const { start } = useSimulator();

  it.each(DIALECTS)('serves the true bytes with Content-Length and Accept-Ranges (/%s)', async (dialect) => {
    const { sim: s, caller: c } = await start({ items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 2 * ONE_MIB + 3 }] }] }, dialect);
    const itemId = s.item('disk').id;
    const { uri } = await c.preparedFile(itemId, 'disk.iso');
    const d = await c.download(uri);
    expect(d.status).toBe(200);
    expect(d.headers['content-length']).toBe(String(2 * ONE_MIB + 3));
    expect(d.headers['accept-ranges']).toBe('bytes');
    expect(d.headers['content-type']).toBe('application/octet-stream');
    expect(d.body!.equals(await readAll(s.fileContent(itemId, 'disk.iso')))).toBe(true);
  });

  it('answers Range bytes=N-M, bytes=N- and bytes=-S with 206 and Content-Range; past the end 416', async () => {
    const size = 10_000;
    const { sim: s, caller: c } = await start({ items: [{ name: 'disk', files: [{ name: 'disk.iso', size }] }] });
    const itemId = s.item('disk').id;
    const whole = await readAll(s.fileContent(itemId, 'disk.iso'));
    const { uri } = await c.preparedFile(itemId, 'disk.iso');
    const cases: Array<[string, number, number]> = [
      ['bytes=100-199', 100, 200],
      ['bytes=9000-', 9000, size],
      ['bytes=-500', size - 500, size],
      ['bytes=9990-20000', 9990, size],
      ['bytes=0-0', 0, 1],
    ];
    for (const [range, from, to] of cases) {
      const d = await c.download(uri, { range });
      expect(d.status, range).toBe(206);
      expect(d.headers['content-range'], range).toBe(`bytes ${from}-${to - 1}/${size}`);
      expect(d.headers['content-length'], range).toBe(String(to - from));
      expect(d.body!.equals(whole.subarray(from, to)), range).toBe(true);
    }
    const past = await c.download(uri, { range: `bytes=${size}-` });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${size}`);
    // Forms the server may ignore (RFC 9110): the whole body.
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=5-2']) {
      const d = await c.download(uri, { range });
      expect(d.status, range).toBe(200);
      expect(d.bytes, range).toBe(size);
    }
    const ranges = s.inspect().dataRequests.map((r) => [r.range, r.status, r.bytesSent, r.complete]);
    expect(ranges.slice(0, 2)).toEqual([
      ['bytes=100-199', 206, 100, true],
      ['bytes=9000-', 206, 1000, true],
    ]);
    expect(ranges[5]).toEqual([`bytes=${size}-`, 416, 0, false]);
  });

  it('ranges: false ignores Range: 200 with the whole body and no Accept-Ranges', async () => {
    const { sim: s, caller: c } = await start({ ranges: false, items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 5000 }] }] });
    const { uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    const d = await c.download(uri, { range: 'bytes=1000-' });
    expect(d.status).toBe(200);
    expect(d.bytes).toBe(5000);
    expect(d.headers['content-range']).toBeUndefined();
    expect(d.headers['accept-ranges']).toBeUndefined();
  });

  it('serves unsafe file names as names, and empty files', async () => {
    const names = ['../../etc/passwd', '/etc/passwd', 'nul\0byte.vmdk', '..', 'spaces and %41.txt', 'empty'];
    const { sim: s, caller: c } = await start({
      items: [{ name: 'evil', files: names.map((name) => ({ name, size: name === 'empty' ? 0 : 64, ...(name !== 'empty' && { content: name.padEnd(64, '#') }) })) }],
    });
    const itemId = s.item('evil').id;
    expect(s.item('evil').files.map((f) => f.name)).toEqual(names);
    const session = await c.createId(itemId);
    for (const name of names) await c.prepare(session, name);
    for (const name of names) {
      const info = await c.waitPrepared(session, name);
      expect(info.name).toBe(name);
      const uri = new URL(info.download_endpoint!.uri);
      // The name never escapes its path segment.
      expect(uri.pathname.startsWith(`/cls/data/${session}`)).toBe(true);
      const d = await c.download(info.download_endpoint!.uri);
      expect(d.status, name).toBe(200);
      expect(d.body!.toString(), name).toBe(name === 'empty' ? '' : name.padEnd(64, '#'));
    }
    const files = c.value(await c.files(session)) as Array<{ name: string; checksum_info?: unknown }>;
    expect(files.every((f) => f.checksum_info !== undefined)).toBe(true);
  });

  it('HEAD answers the headers only', async () => {
    const { sim: s, caller: c } = await start({ items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 1234 }] }] });
    const { uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    const res = await fetch(uri, { method: 'HEAD', headers: { 'vmware-api-session-id': c.token! } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('1234');
  });

  it('answers 404 for an unknown session or file, and counts data bytes as session activity', async () => {
    const { sim: s, caller: c } = await start({ sessionIdleTimeoutMs: 500, items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 100 }] }] });
    const { session, uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    expect((await c.download(`${s.url}/cls/data/nope/disk.iso`)).status).toBe(404);
    expect((await c.download(`${s.url}/cls/data/${session}/other.iso`)).status).toBe(404);
    expect((await c.download(`${s.url}/cls/data/${session}`)).status).toBe(404);
    // Only data requests for 800 ms (past the 500 ms timeout): the session lives on.
    const start0 = Date.now();
    while (Date.now() - start0 < 800) {
      expect((await c.download(uri, { range: 'bytes=0-9' })).status).toBe(206);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await c.get(session)).status).toBe(200);
  });

  it('generates every 4 KiB block distinct: stamped with its offset, so a wrong resume offset changes the bytes', async () => {
    const { sim: s } = await start({ items: [{ name: 'a', files: [{ name: 'x', size: 8 * ONE_MIB }, { name: 'y', size: 8 * ONE_MIB }] }] });
    const id = s.item('a').id;
    const x = await readAll(s.fileContent(id, 'x'));
    const y = await readAll(s.fileContent(id, 'y'));
    const blocks = new Set<string>();
    for (let at = 0; at < x.length; at += STAMP_BLOCK) {
      expect(x.readUInt32LE(at)).toBe(at);
      blocks.add(sha1(x.subarray(at, at + STAMP_BLOCK)));
      blocks.add(sha1(y.subarray(at, at + STAMP_BLOCK)));
    }
    expect(blocks.size).toBe((2 * x.length) / STAMP_BLOCK);
    // Deterministic, and identical whatever the chunking (a range read equals the same slice).
    const again = await readAll(s.fileContent(id, 'x', { start: 4_000_001, end: 4_100_007 }));
    expect(again.equals(x.subarray(4_000_001, 4_100_007))).toBe(true);
  });

  it('serves a 20 GiB generated item near its end, stamped past 2^32', async () => {
    const size = 20 * GIB + 12_345;
    const { sim: s, caller: c } = await start({ checksumsAtStart: false, items: [{ name: 'huge', files: [{ name: 'huge.vmdk', size }] }] });
    const itemId = s.item('huge').id;
    expect(s.item('huge').files).toEqual([{ name: 'huge.vmdk', size }]);
    const { uri } = await c.preparedFile(itemId, 'huge.vmdk');
    const from = size - 64 * ONE_MIB;
    const d = await c.download(uri, { range: `bytes=${from}-` });
    expect(d.status).toBe(206);
    expect(d.headers['content-range']).toBe(`bytes ${from}-${size - 1}/${size}`);
    expect(d.bytes).toBe(64 * ONE_MIB);
    const tail = await c.download(uri, { range: 'bytes=-8192' });
    const truth = await readAll(s.fileContent(itemId, 'huge.vmdk', { start: size - 8192 }));
    expect(tail.body!.equals(truth)).toBe(true);
    // The block stamp past 2^32 carries both halves of the offset.
    const block = Math.ceil((size - 8192) / STAMP_BLOCK) * STAMP_BLOCK;
    const at = block - (size - 8192);
    expect(tail.body!.readUInt32LE(at) + tail.body!.readUInt32LE(at + 4) * 2 ** 32).toBe(block);
  });
});
