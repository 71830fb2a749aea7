import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LibrarySpec, SimulatorConfigError, SimulatorLookupError, startSimulator } from '../../src/simulator/index.ts';
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

  describe.each(DIALECTS)('several libraries over /%s', (dialect) => {
    it('serves libraries of one’s own beside the default one; an item name may repeat across libraries', async () => {
      const mirrorId = '0d9c9b7e-5b8e-4a51-9d7e-000000000001';
      const { sim, caller: c } = await start(
        {
          syncDelayMs: 10,
          libraries: [
            { name: 'isos', items: [{ name: 'alpine', files: [{ name: 'alpine.iso', size: 100 }] }] },
            { name: 'mirror', id: mirrorId, type: 'SUBSCRIBED', items: [{ name: 'alpine', files: [{ name: 'alpine.iso', size: 200 }] }] },
          ],
          items: [{ name: 'plain', files: [{ name: 'plain.iso', size: 1 }] }],
        },
        dialect,
      );
      const isos = sim.library('isos');
      expect(sim.library('mirror')).toEqual({ id: mirrorId, name: 'mirror', type: 'SUBSCRIBED' });
      expect(sim.library('cldl-sim').type).toBe('LOCAL');
      expect(() => sim.library('nope')).toThrow(SimulatorLookupError);
      expect(c.value(await c.libraries())).toEqual([isos.id, mirrorId, sim.library('cldl-sim').id]);
      expect(c.value(await c.findLibraries({ name: 'mirror' }))).toEqual([mirrorId]);
      expect(c.value(await c.findLibraries({ type: 'LOCAL' }))).toEqual([isos.id, sim.library('cldl-sim').id]);

      expect(() => sim.item('alpine')).toThrow(/2 items are named "alpine" \(in isos, mirror\)/);
      const local = sim.item('alpine', 'isos');
      const mirrored = sim.item('alpine', 'mirror');
      expect(local.id).not.toBe(mirrored.id);
      expect(local).toMatchObject({ libraryId: isos.id, files: [{ name: 'alpine.iso', size: 100 }] });
      expect(c.value(await c.items(isos.id))).toEqual([local.id]);
      expect(c.value(await c.items(mirrorId))).toEqual([mirrored.id]);
      expect(c.value(await c.items(sim.library('cldl-sim').id))).toEqual([sim.item('plain').id]);
      expect(c.value(await c.item(mirrored.id))).toMatchObject({ library_id: mirrorId, name: 'alpine', source_id: expect.any(String) as string });
      // A subscribed library's items sync; a local one's do not.
      expect((await c.sync(mirrored.id, true)).status).toBe(dialect === 'rest' ? 200 : 204);
      expect((await c.sync(local.id, true)).status).toBe(400);
      // Same names, different items: their bytes differ.
      expect(await sim.fileChecksum(local.id, 'alpine.iso')).not.toBe(await sim.fileChecksum(mirrored.id, 'alpine.iso'));
    });
  });

  it('without items of its own, the default library is not made; bad library specs are refused', async () => {
    const sim = await startBare({ libraries: [{ name: 'only', items: [] }] });
    expect(() => sim.library('cldl-sim')).toThrow(SimulatorLookupError);
    const item = { name: 'a', files: [] };
    await expect(startSimulator({ libraries: [{ name: 'x', items: [] }, { name: 'x', items: [] }] })).rejects.toThrow(/two libraries are named "x"/);
    await expect(startSimulator({ libraries: [{ name: 'x' } as LibrarySpec] })).rejects.toThrow(/library x: items must be an array/);
    await expect(startSimulator({ libraries: [{ name: 'x', items: [item, item] }] })).rejects.toThrow(/two items are named "a" in library x/);
    await expect(startSimulator({ libraries: [{ name: 'x', items: [{ ...item, subscribed: true }] }] })).rejects.toThrow(/subscribed, but library x is LOCAL/);
    await expect(startSimulator({ libraries: [{ name: 'cldl-sim', type: 'SUBSCRIBED', items: [] }], items: [item] })).rejects.toThrow(SimulatorConfigError);
    // Declared as LOCAL, cldl-sim is the default library itself.
    const merged = await startBare({ libraries: [{ name: 'cldl-sim', items: [{ name: 'b', files: [] }] }], items: [item] });
    expect(merged.items().map((i) => [i.name, i.libraryId])).toEqual([
      ['b', merged.library('cldl-sim').id],
      ['a', merged.library('cldl-sim').id],
    ]);
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
