import { describe, expect, it } from 'vitest';
import { SimulatorConfigError, SimulatorLookupError, type ItemSpec } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { DIALECTS, errorType, type FileInfo, readAll, sha1, until } from './wire.ts';

/** Content that changes while a mirror runs: a publisher's new version, a deleted item, a new one. */

const ONE_MIB = 1024 * 1024;

interface SessionModel {
  library_item_content_version: string;
  state: string;
  error_message?: { default_message: string };
}

interface ItemModel {
  content_version: string;
  size: number;
}

const template = (): ItemSpec => ({
  name: 'tmpl',
  manifest: true,
  files: [
    { name: 'tmpl.ovf', size: 3, content: '<a>' },
    { name: 'tmpl-disk1.vmdk', size: ONE_MIB + 5 },
  ],
});

describe.each(DIALECTS)('replaceItemContent() over /%s', (dialect) => {
  const { start } = useSimulator();

  it('pins a session to the content it was created with; later sessions get the new version', async () => {
    const { sim, caller: c } = await start({ items: [template()] }, dialect);
    const item = sim.item('tmpl');
    const oldDisk = await sim.fileChecksum(item.id, 'tmpl-disk1.vmdk');
    const old = await c.preparedFile(item.id, 'tmpl-disk1.vmdk');

    const replaced = sim.replaceItemContent('tmpl');
    expect(replaced).toMatchObject({ id: item.id, contentVersion: '2', files: item.files });
    const newDisk = await sim.fileChecksum(item.id, 'tmpl-disk1.vmdk');
    expect(newDisk).not.toBe(oldDisk);
    // Inline content gets new bytes too, of the same size.
    expect((await readAll(sim.fileContent(item.id, 'tmpl.ovf'))).toString()).not.toBe('<a>');

    const got = c.value(await c.item(item.id)) as ItemModel;
    expect(got.content_version).toBe('2');
    expect(got.size).toBe(item.files.reduce((n, f) => n + f.size, 0));

    // The old session still reports and serves version 1.
    expect((c.value(await c.get(old.session)) as SessionModel).library_item_content_version).toBe('1');
    const oldBytes = await c.download(old.uri);
    expect(oldBytes.sha1).toBe(oldDisk);
    expect((c.value(await c.file(old.session, 'tmpl-disk1.vmdk')) as FileInfo).checksum_info?.checksum).toBe(oldDisk);

    // A new session serves version 2, its manifest listing the new SHA-1s.
    const fresh = await c.preparedFile(item.id, 'tmpl-disk1.vmdk');
    expect((c.value(await c.get(fresh.session)) as SessionModel).library_item_content_version).toBe('2');
    const newBytes = await c.download(fresh.uri);
    expect(newBytes.sha1).toBe(newDisk);
    expect((c.value(await c.file(fresh.session, 'tmpl-disk1.vmdk')) as FileInfo).checksum_info?.checksum).toBe(newDisk);
    await c.prepare(fresh.session, 'tmpl.mf');
    await c.prepare(fresh.session, 'tmpl.ovf');
    const mf = (await c.download((await c.waitPrepared(fresh.session, 'tmpl.mf')).download_endpoint!.uri)).body!.toString();
    const ovf = (await c.download((await c.waitPrepared(fresh.session, 'tmpl.ovf')).download_endpoint!.uri)).body!;
    expect(mf).toBe(`SHA1(tmpl.ovf)= ${sha1(ovf)}\nSHA1(tmpl-disk1.vmdk)= ${newDisk}\n`);

    // Item file listings follow: the version, and the new checksum once computed.
    const listed = await until(async () => {
      const files = c.value(await c.itemFiles(item.id)) as Array<{ name: string; version: string; checksum_info?: { checksum: string } }>;
      const disk = files.find((f) => f.name === 'tmpl-disk1.vmdk')!;
      return disk.checksum_info && disk;
    }, 5000, 'the new checksum in the item file listing');
    expect(listed).toMatchObject({ version: '2', checksum_info: { checksum: newDisk } });

    // A third generation differs from both.
    sim.replaceItemContent(item.id);
    expect(sim.item('tmpl').contentVersion).toBe('3');
    expect(await sim.fileChecksum(item.id, 'tmpl-disk1.vmdk')).not.toBeOneOf([oldDisk, newDisk]);
  });

  it('takes new files: names, sizes, item size and listings follow', async () => {
    const { sim, caller: c } = await start({ items: [template()] }, dialect);
    const id = sim.item('tmpl').id;
    const before = await c.createId(id);
    const after = sim.replaceItemContent(id, [
      { name: 'tmpl.ovf', size: 4, content: '<ab>' },
      { name: 'tmpl-disk2.vmdk', size: 1000 },
    ]);
    expect(after.files).toEqual([
      { name: 'tmpl.ovf', size: 4 },
      { name: 'tmpl-disk2.vmdk', size: 1000 },
      { name: 'tmpl.mf', size: expect.any(Number) as number },
    ]);
    expect((c.value(await c.item(id)) as ItemModel).size).toBe(after.files.reduce((n, f) => n + f.size, 0));
    expect((c.value(await c.itemFiles(id)) as Array<{ name: string }>).map((f) => f.name)).toEqual(['tmpl.ovf', 'tmpl-disk2.vmdk', 'tmpl.mf']);
    const names = async (session: string): Promise<string[]> => (c.value(await c.files(session)) as FileInfo[]).map((f) => f.name);
    expect(await names(before)).toEqual(['tmpl.ovf', 'tmpl-disk1.vmdk', 'tmpl.mf']);
    expect(await names(await c.createId(id))).toEqual(['tmpl.ovf', 'tmpl-disk2.vmdk', 'tmpl.mf']);
    expect((await readAll(sim.fileContent(id, 'tmpl.ovf'))).toString()).toBe('<ab>');
    expect(() => sim.fileContent(id, 'tmpl-disk1.vmdk')).toThrow(SimulatorLookupError);
    expect(() => sim.replaceItemContent(id, [{ name: 'x', size: 2, content: 'abc' }])).toThrow(SimulatorConfigError);
    expect(() => sim.replaceItemContent('no-such-item')).toThrow(SimulatorLookupError);
  });
});

describe.each(DIALECTS)('deleteItem() and addItem() over /%s', (dialect) => {
  const { start } = useSimulator({ checksumsAtStart: false });

  it('a deleted item leaves its library; its ACTIVE sessions end in ERROR and their transfers are cut', async () => {
    const { sim, caller: c } = await start({ items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 2 * ONE_MIB }] }, { name: 'keep', files: [{ name: 'k', size: 1 }] }] }, dialect);
    const id = sim.item('disk').id;
    const library = sim.library('cldl-sim').id;
    const { session, uri } = await c.preparedFile(id, 'disk.iso');
    sim.faults.add({ kind: 'stall', afterBytes: 1000, ms: 5000 });
    const pending = c.download(uri);
    await until(() => sim.inspect().dataRequests[0]?.bytesSent === 1000, 2000, 'the stall');

    sim.deleteItem('disk');
    const cut = await pending;
    expect(cut.error).toBeDefined();
    expect(cut.bytes).toBe(1000);
    const g = await c.item(id);
    expect(g.status).toBe(404);
    expect(errorType(g)).toBe('NOT_FOUND');
    expect(c.value(await c.items(library))).toEqual([sim.item('keep').id]);
    expect((await c.create(id)).status).toBe(404);
    expect(() => sim.item('disk')).toThrow(SimulatorLookupError);

    // The session stays, in ERROR, saying why; its data is refused.
    const s = c.value(await c.get(session)) as SessionModel;
    expect(s.state).toBe('ERROR');
    expect(s.error_message?.default_message).toMatch(/was deleted/);
    expect((await c.download(uri)).status).toBe(400);
    expect(sim.inspect().sessions[0]).toMatchObject({ id: session, itemName: 'disk', state: 'ERROR', gone: null });
    expect(() => sim.deleteItem('disk')).toThrow(SimulatorLookupError);
  });

  it('adds an item at run time, to the default library or a named one', async () => {
    const { sim, caller: c } = await start({ libraries: [{ name: 'isos', items: [] }], items: [] }, dialect);
    const added = sim.addItem({ name: 'late', files: [{ name: 'late.iso', size: 5000 }] });
    expect(added).toMatchObject({ name: 'late', type: 'iso', contentVersion: '1', libraryId: sim.library('cldl-sim').id });
    const { uri } = await c.preparedFile(added.id, 'late.iso');
    expect((await c.download(uri)).sha1).toBe(await sim.fileChecksum(added.id, 'late.iso'));
    const inIsos = sim.addItem({ name: 'late', files: [{ name: 'late.iso', size: 10 }] }, 'isos');
    expect(c.value(await c.items(sim.library('isos').id))).toEqual([inIsos.id]);
    expect(() => sim.addItem({ name: 'late', files: [] }, 'isos')).toThrow(/two items are named "late" in library isos/);
    expect(() => sim.addItem({ name: 'x', files: [] }, 'nope')).toThrow(SimulatorLookupError);
  });
});
