import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useSimulator } from '../support/use-simulator.ts';
import { DIALECTS, errorText, errorType, type FileInfo, until } from './wire.ts';

const ONE_MIB = 1024 * 1024;

describe.each(DIALECTS)('download-session files over /%s', (dialect) => {
  const simulator = useSimulator();

  it('prepares through PREPARE_REQUESTED and PREPARING to PREPARED with a download endpoint', async () => {
    const { sim: s, caller: c } = await simulator.start({ prepareDelayMs: 150, items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 5000 }] }] }, dialect);
    const id = await c.createId(s.item('disk').id);
    const p = await c.prepare(id, 'disk.iso');
    expect(p.status).toBe(200);
    expect(c.value(p)).toEqual({ name: 'disk.iso', size: 5000, bytes_transferred: 0, status: 'PREPARE_REQUESTED' });
    const seen = new Set<string>();
    const info = await until(async () => {
      const f = c.value(await c.file(id, 'disk.iso')) as FileInfo;
      seen.add(f.status);
      return f.status === 'PREPARED' && f;
    }, 3000, 'PREPARED');
    expect([...seen]).toEqual(['PREPARE_REQUESTED', 'PREPARING', 'PREPARED']);
    expect(info.download_endpoint!.uri).toBe(`${s.url}/cls/data/${id}/disk.iso`);
    expect(info.download_endpoint!.ssl_certificate_thumbprint).toBeUndefined();
    // Preparing a prepared file again leaves it PREPARED.
    expect((c.value(await c.prepare(id, 'disk.iso')) as FileInfo).status).toBe('PREPARED');
  });

  it('answers invalid_argument for an unknown file name, in prepare and get; not_found for an unknown session', async () => {
    const { sim: s, caller: c } = await simulator.start({ items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 1 }] }] }, dialect);
    const itemId = s.item('disk').id;
    const id = await c.createId(itemId);
    for (const r of [await c.prepare(id, 'nope.vmdk'), await c.file(id, 'nope.vmdk')]) {
      expect(r.status).toBe(400);
      expect(errorType(r)).toBe('INVALID_ARGUMENT');
      expect(errorText(r)).toContain('nope.vmdk');
      expect(errorText(r)).toContain(itemId);
    }
    for (const r of [await c.prepare('no-such-session', 'disk.iso'), await c.file('no-such-session', 'disk.iso')]) {
      expect(r.status).toBe(404);
      expect(errorType(r)).toBe('NOT_FOUND');
    }
    const bad = await c.prepare(id, 'disk.iso', 'FTP');
    expect(bad.status).toBe(400);
    expect(errorType(bad)).toBe('INVALID_ARGUMENT');
  });

  it('refuses data of a file that is not prepared with a 4xx', async () => {
    const { sim: s, caller: c } = await simulator.start({ prepareDelayMs: 5000, items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 10 }] }] }, dialect);
    const id = await c.createId(s.item('disk').id);
    const unprepared = await c.download(`${s.url}/cls/data/${id}/disk.iso`);
    expect(unprepared.status).toBe(400);
    await c.prepare(id, 'disk.iso');
    const preparing = await c.download(`${s.url}/cls/data/${id}/disk.iso`);
    expect(preparing.status).toBe(400);
    expect(JSON.parse(preparing.body!.toString())).toMatchObject({ error_type: 'NOT_ALLOWED_IN_CURRENT_STATE' });
  });

  it('an uncached subscribed item’s file ends in ERROR; a content sync caches the item after the delay', async () => {
    const { sim: s, caller: c } = await simulator.start({ syncDelayMs: 100, items: [{ name: 'sub', subscribed: true, cached: false, files: [{ name: 'sub.iso', size: 64 }] }] }, dialect);
    const itemId = s.item('sub').id;
    const item = c.value(await c.item(itemId)) as { cached: boolean; source_id?: string; library_id: string };
    expect(item.cached).toBe(false);
    expect(item.source_id).toMatch(/^[0-9a-f-]{36}$/);
    const id = await c.createId(itemId);
    await c.prepare(id, 'sub.iso');
    const failed = await c.waitPrepared(id, 'sub.iso');
    expect(failed.status).toBe('ERROR');
    expect(failed.error_message!.default_message).toMatch(/not cached/);
    expect(failed.download_endpoint).toBeUndefined();
    // A metadata-only sync leaves the content uncached.
    expect((await c.sync(itemId, false)).status).toBe(dialect === 'rest' ? 200 : 204);
    const synced = await until(async () => {
      const v = c.value(await c.item(itemId)) as { last_sync_time?: string; cached: boolean };
      return v.last_sync_time !== undefined && v;
    }, 2000, 'the metadata sync');
    expect(synced.cached).toBe(false);
    const t0 = Date.now();
    expect((await c.sync(itemId, true)).status).toBe(dialect === 'rest' ? 200 : 204);
    expect((c.value(await c.item(itemId)) as { cached: boolean }).cached).toBe(false);
    await until(async () => (c.value(await c.item(itemId)) as { cached: boolean }).cached, 2000, 'the content sync');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    // Re-preparing after an ERROR starts over.
    await c.prepare(id, 'sub.iso');
    expect((await c.waitPrepared(id, 'sub.iso')).status).toBe('PREPARED');
  });

  it('a content sync asked for while a metadata sync is under way still caches the item', async () => {
    const { sim: s, caller: c } = await simulator.start({ syncDelayMs: 100, items: [{ name: 'sub', subscribed: true, cached: false, files: [{ name: 'sub.iso', size: 1 }] }] }, dialect);
    const itemId = s.item('sub').id;
    await c.sync(itemId, false);
    await c.sync(itemId, true);
    await until(async () => (c.value(await c.item(itemId)) as { cached: boolean }).cached, 2000, 'the upgraded sync');
  });

  it('sync of a local item is invalid_element_type; of an unknown item not_found', async () => {
    const { sim: s, caller: c } = await simulator.start({ items: [{ name: 'local', files: [{ name: 'a', size: 1 }] }] }, dialect);
    const r = await c.sync(s.item('local').id, true);
    expect(r.status).toBe(400);
    expect(errorType(r)).toBe('INVALID_ELEMENT_TYPE');
    expect((await c.sync('nope', true)).status).toBe(404);
  });

  it('reports checksum_info (SHA1 by default) only once the file was fully served, and bytes_transferred', async () => {
    const { sim: s, caller: c } = await simulator.start({ items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 3 * ONE_MIB + 17 }] }] }, dialect);
    const itemId = s.item('disk').id;
    const { session, uri } = await c.preparedFile(itemId, 'disk.iso');
    const before = c.value(await c.file(session, 'disk.iso')) as FileInfo;
    expect(before.checksum_info).toBeUndefined();
    const d = await c.download(uri);
    expect(d.status).toBe(200);
    expect(d.bytes).toBe(3 * ONE_MIB + 17);
    const after = c.value(await c.file(session, 'disk.iso')) as FileInfo;
    expect(after.checksum_info).toEqual({ algorithm: 'SHA1', checksum: d.sha1 });
    expect(after.bytes_transferred).toBe(3 * ONE_MIB + 17);
    expect(await s.fileChecksum(itemId, 'disk.iso')).toBe(d.sha1);
    // A second session starts without it.
    const { session: second } = await c.preparedFile(itemId, 'disk.iso');
    expect((c.value(await c.file(second, 'disk.iso')) as FileInfo).checksum_info).toBeUndefined();
  });

  it('counts a file served in two Range requests as fully downloaded', async () => {
    const size = 2 * ONE_MIB + 5;
    const { sim: s, caller: c } = await simulator.start({ items: [{ name: 'disk', files: [{ name: 'disk.iso', size }] }] }, dialect);
    const { session, uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    const head = await c.download(uri, { range: `bytes=0-${ONE_MIB - 1}` });
    expect(head.status).toBe(206);
    expect((c.value(await c.file(session, 'disk.iso')) as FileInfo).checksum_info).toBeUndefined();
    const tail = await c.download(uri, { range: `bytes=${ONE_MIB}-` });
    expect(tail.status).toBe(206);
    const whole = createHash('sha1').update(head.body!).update(tail.body!).digest('hex');
    const info = c.value(await c.file(session, 'disk.iso')) as FileInfo;
    expect(info.checksum_info?.checksum).toBe(whole);
    expect(info.bytes_transferred).toBe(size);
  });

  it('uses the configured checksum algorithm', async () => {
    const { sim: s, caller: c } = await simulator.start({ checksumAlgorithm: 'SHA256', items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 12_345 }] }] }, dialect);
    const itemId = s.item('disk').id;
    const { session, uri } = await c.preparedFile(itemId, 'disk.iso');
    const d = await c.download(uri);
    const info = c.value(await c.file(session, 'disk.iso')) as FileInfo;
    expect(info.checksum_info).toEqual({ algorithm: 'SHA256', checksum: createHash('sha256').update(d.body!).digest('hex') });
    expect(await s.fileChecksum(itemId, 'disk.iso', 'MD5')).toBe(createHash('md5').update(d.body!).digest('hex'));
  });

  it('sizeUntilDownloaded: File.Info has no size until the file was downloaded', async () => {
    const { sim: s, caller: c } = await simulator.start({ sizeUntilDownloaded: true, items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 777 }] }] }, dialect);
    const { session, uri, info } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    expect(info).not.toHaveProperty('size');
    expect(c.value(await c.files(session))).toEqual([expect.not.objectContaining({ size: expect.anything() as number })]);
    await c.download(uri);
    expect((c.value(await c.file(session, 'disk.iso')) as FileInfo).size).toBe(777);
  });
});
