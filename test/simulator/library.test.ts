import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatorConfigError, SimulatorLookupError, startSimulator } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { DIALECTS, errorType, readAll, sha1, until } from './wire.ts';

let seedDir: string;
const vmdk = Buffer.alloc(200_000, 7);
const ovf = Buffer.from('<?xml version="1.0"?><Envelope/>\n');
const iso = Buffer.from('an iso image');

beforeAll(async () => {
  seedDir = await mkdtemp(path.join(tmpdir(), 'cldl-sim-seed-'));
  await mkdir(path.join(seedDir, 'photon'));
  await writeFile(path.join(seedDir, 'photon', 'photon.ovf'), ovf);
  await writeFile(path.join(seedDir, 'photon', 'photon-disk1.vmdk'), vmdk);
  await writeFile(path.join(seedDir, 'photon', 'photon.mf'), `SHA1(photon.ovf)= ${sha1(ovf)}\nSHA1(photon-disk1.vmdk)= ${sha1(vmdk)}\n`);
  await writeFile(path.join(seedDir, 'ubuntu.iso'), iso);
  await writeFile(path.join(seedDir, '.hidden'), 'skip me');
});

afterAll(async () => {
  await rm(seedDir, { recursive: true, force: true });
});

describe('library', () => {
  const { start, startBare } = useSimulator();

  it('seeds a folder: a file is an item, a sub-folder an OVF item with its manifest', async () => {
    const { sim, caller: c } = await start({ seedDir });
    expect(sim.items().map((i) => ({ name: i.name, type: i.type, files: i.files }))).toEqual([
      {
        name: 'photon',
        type: 'ovf',
        files: [
          { name: 'photon-disk1.vmdk', size: vmdk.length },
          { name: 'photon.mf', size: expect.any(Number) as number },
          { name: 'photon.ovf', size: ovf.length },
        ],
      },
      { name: 'ubuntu', type: 'iso', files: [{ name: 'ubuntu.iso', size: iso.length }] },
    ]);
    const photon = sim.item('photon');
    const session = await c.createId(photon.id);
    for (const f of photon.files) await c.prepare(session, f.name);
    const got = new Map<string, Buffer>();
    for (const f of photon.files) {
      const info = await c.waitPrepared(session, f.name);
      got.set(f.name, (await c.download(info.download_endpoint!.uri)).body!);
    }
    expect(got.get('photon-disk1.vmdk')!.equals(vmdk)).toBe(true);
    const manifest = got.get('photon.mf')!.toString();
    for (const [name, bytes] of [['photon.ovf', ovf], ['photon-disk1.vmdk', vmdk]] as const) expect(manifest).toContain(`SHA1(${name})= ${sha1(bytes)}`);
    expect(await sim.fileChecksum(photon.id, 'photon-disk1.vmdk')).toBe(sha1(vmdk));
  });

  it('generates a multi-file item with an OVF manifest of the other files’ SHA1s', async () => {
    const sim = await startBare({
      items: [
        {
          name: 'tmpl',
          manifest: true,
          files: [
            { name: 'tmpl.ovf', size: 3, content: '<a>' },
            { name: 'tmpl-disk1.vmdk', size: 3 * 1024 * 1024 + 1 },
          ],
        },
      ],
    });
    const t = sim.item('tmpl');
    expect(t.files.map((f) => f.name)).toEqual(['tmpl.ovf', 'tmpl-disk1.vmdk', 'tmpl.mf']);
    expect(sim.items()[0]!.type).toBe('ovf');
    const mf = (await readAll(sim.fileContent(t.id, 'tmpl.mf'))).toString();
    expect(Buffer.byteLength(mf)).toBe(t.files[2]!.size);
    const disk = await readAll(sim.fileContent(t.id, 'tmpl-disk1.vmdk'));
    expect(mf).toBe(`SHA1(tmpl.ovf)= ${sha1(Buffer.from('<a>'))}\nSHA1(tmpl-disk1.vmdk)= ${sha1(disk)}\n`);
  });

  it('refuses bad specs and unknown lookups with its own errors', async () => {
    await expect(startSimulator({ items: [{ name: 'a', files: [{ name: 'x', size: 5, content: 'abc' }] }] })).rejects.toBeInstanceOf(SimulatorConfigError);
    await expect(startSimulator({ items: [{ name: 'a', files: [] }, { name: 'a', files: [] }] })).rejects.toThrow(/two items are named "a"/);
    await expect(startSimulator({ seedDir: path.join(seedDir, 'missing') })).rejects.toBeInstanceOf(SimulatorConfigError);
    const sim = await startBare({ items: [{ name: 'a', files: [{ name: 'x', size: 1 }] }] });
    expect(() => sim.item('b')).toThrow(SimulatorLookupError);
    expect(() => sim.fileContent(sim.item('a').id, 'y')).toThrow(SimulatorLookupError);
  });

  describe.each(DIALECTS)('library and item reads over /%s', (dialect) => {
    it('lists and finds libraries, lists items, gets items and their files', async () => {
      const { sim, caller: c } = await start(
        {
          seedDir,
          syncDelayMs: 10,
          items: [{ name: 'sub', subscribed: true, files: [{ name: 'sub.iso', size: 10 }] }],
        },
        dialect,
      );
      const libs = c.value(await c.libraries()) as string[];
      expect(libs).toHaveLength(2);
      const [local] = c.value(await c.findLibraries({ type: 'LOCAL' })) as string[];
      const [subscribed] = c.value(await c.findLibraries({ name: 'cldl-sim-subscribed' })) as string[];
      expect(new Set([local, subscribed])).toEqual(new Set(libs));
      expect(c.value(await c.findLibraries({ name: 'nope' }))).toEqual([]);
      const photon = sim.item('photon');
      expect((c.value(await c.items(local!)) as string[]).sort()).toEqual([photon.id, sim.item('ubuntu').id].sort());
      expect(c.value(await c.items(subscribed!))).toEqual([sim.item('sub').id]);
      expect((await c.items('nope')).status).toBe(404);

      const item = c.value(await c.item(photon.id)) as Record<string, unknown>;
      expect(item).toMatchObject({
        id: photon.id,
        library_id: local,
        name: 'photon',
        type: 'ovf',
        cached: true,
        content_version: '1',
        size: photon.files.reduce((n, f) => n + f.size, 0),
      });
      expect(item.source_id).toBeUndefined();
      expect(Date.parse(item.creation_time as string)).not.toBeNaN();
      const g = await c.item('nope');
      expect(g.status).toBe(404);
      expect(errorType(g)).toBe('NOT_FOUND');

      // Checksums of item files appear once computed (in the background from start).
      await until(async () => (c.value(await c.itemFiles(photon.id)) as Array<{ checksum_info?: unknown }>).every((f) => f.checksum_info), 5000, 'item checksums');
      const files = c.value(await c.itemFiles(photon.id)) as unknown[];
      expect(files).toContainEqual({ name: 'photon-disk1.vmdk', size: vmdk.length, cached: true, version: '1', checksum_info: { algorithm: 'SHA1', checksum: sha1(vmdk) } });
      expect(c.value(await c.itemFile(photon.id, 'photon.ovf'))).toMatchObject({ name: 'photon.ovf', size: ovf.length });
      expect((await c.itemFile(photon.id, 'nope')).status).toBe(404);
    });
  });

  it('hashes generated content off the event loop and agrees with a hash of the stream', async () => {
    const sim = await startBare({ items: [{ name: 'g', files: [{ name: 'g.bin', size: 64 * 1024 * 1024 + 3 }] }] });
    const id = sim.item('g').id;
    const h = createHash('sha256');
    for await (const chunk of sim.fileContent(id, 'g.bin')) h.update(chunk as Buffer);
    expect(await sim.fileChecksum(id, 'g.bin', 'SHA256')).toBe(h.digest('hex'));
    await expect(sim.fileChecksum(id, 'g.bin', 'CRC32')).rejects.toThrow(/unknown checksum algorithm/);
  });
});
