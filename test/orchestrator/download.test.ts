import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadFailedError, InvalidRequestError, keysFor } from '../../src/orchestrator/index.ts';
import type { ItemSpec } from '../../src/simulator/index.ts';
import { hashFile } from '../../src/transfer/index.ts';
import { startHarness, type Harness } from '../support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const ISO = { name: 'photon.iso', files: [{ name: 'photon.iso', size: 5 * 1024 * 1024 + 7 }] };
const OVF = {
  name: 'tiny',
  manifest: true,
  files: [
    { name: 'tiny.ovf', size: 2048 },
    { name: 'tiny-disk1.vmdk', size: 3 * 1024 * 1024 },
    { name: 'tiny-disk2.vmdk', size: 1024 * 1024 + 1 },
  ],
};

describe.each(['api', 'rest'] as const)('a download over %s', (api) => {
  it('streams every file of a multi-file item, verifies it against vCenter and the manifest, and deletes the session', async () => {
    h = await startHarness({ simulator: { items: [OVF] }, vcenter: { api } });
    const item = h.sim.item('tiny');
    const id = await h.client.enqueueDownload({ libraryItemId: item.id, destination: 'templates/tiny' });
    const result = await h.client.waitForDownload(id, { timeoutMs: 20_000 });

    expect(await h.listDir('templates/tiny')).toEqual(['tiny-disk1.vmdk', 'tiny-disk2.vmdk', 'tiny.mf', 'tiny.ovf']);
    for (const f of ['tiny.ovf', 'tiny-disk1.vmdk', 'tiny-disk2.vmdk', 'tiny.mf']) {
      expect(await h.sha256(`templates/tiny/${f}`)).toBe(await h.expectedSha256('tiny', f));
    }
    expect(result.files).toHaveLength(4);
    for (const f of result.files) {
      expect(f).toMatchObject({ checksumAlgorithm: 'SHA1', verified: true });
      expect(f.checksum).toBe(await h.sim.fileChecksum(item.id, f.name, 'SHA1'));
    }
    expect(result.totalBytes).toBe(2048 + 3 * 1024 * 1024 + 1024 * 1024 + 1 + result.files.find((f) => f.name === 'tiny.mf')!.size);

    const [session] = h.sim.inspect().sessions;
    expect(session).toMatchObject({ id: result.sessionId, gone: 'deleted', state: 'ACTIVE', progress: 100 });
    // A download this short gets no keep-alive before its last (the first comes a second after the
    // session was created): that one reports 100.
    const progress = session!.keepAlives.map((k) => k.progress);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)).toBe(100);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(h.sim.inspect().liveSessions).toBe(0);

    const status = await h.client.getDownload(id);
    expect(status).toMatchObject({ state: 'completed', progress: { percent: 100, filesDone: 4, filesTotal: 4 } });
    expect(status!.result).toEqual(result);
  });
});

describe('a download', () => {
  it('downloads only the files asked for', async () => {
    h = await startHarness({ simulator: { items: [OVF] } });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('tiny').id, destination: 'sub', files: ['tiny.ovf'] });
    const result = await h.client.waitForDownload(id, { timeoutMs: 20_000 });
    expect(result.files.map((f) => f.name)).toEqual(['tiny.ovf']);
    expect(await h.listDir('sub')).toEqual(['tiny.ovf']);
  });

  it('fails a file list naming files the item does not have, telling vCenter why', async () => {
    h = await startHarness({ simulator: { items: [ISO] } });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('photon.iso').id, destination: 'x', files: ['nope.iso'] });
    const err = await h.client.waitForDownload(id, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadFailedError);
    expect((err as Error).message).toMatch(/has no file "nope.iso"; it has photon.iso/);
    const [session] = h.sim.inspect().sessions;
    expect(session).toMatchObject({ state: 'ERROR' });
    expect(session!.errorMessage).toMatch(/cldl could not download library item .* to x: .*has no file "nope.iso"/);
  });

  it('refuses to replace an existing file without overwrite, and replaces it with overwrite', async () => {
    h = await startHarness({ simulator: { items: [ISO] } });
    await mkdir(path.join(h.root, 'isos'));
    await writeFile(path.join(h.root, 'isos', 'photon.iso'), 'precious');
    const itemId = h.sim.item('photon.iso').id;
    const id = await h.client.enqueueDownload({ libraryItemId: itemId, destination: 'isos' });
    await expect(h.client.waitForDownload(id, { timeoutMs: 20_000 })).rejects.toThrow(/isos\/photon.iso already exists; remove it or enqueue the download with overwrite: true/);
    expect(await h.listDir('isos')).toEqual(['photon.iso']);
    expect(h.sim.inspect().sessions[0]!.errorMessage).toMatch(/already exists/);

    const again = await h.client.enqueueDownload({ libraryItemId: itemId, destination: 'isos', overwrite: true });
    await h.client.waitForDownload(again, { timeoutMs: 20_000 });
    expect(await h.sha256('isos/photon.iso')).toBe(await h.expectedSha256('photon.iso', 'photon.iso'));
  });

  it('enqueues idempotently: the same id is one download', async () => {
    h = await startHarness({ simulator: { items: [ISO] } });
    const request = { libraryItemId: h.sim.item('photon.iso').id, destination: 'once' };
    const [a, b] = await Promise.all([h.client.enqueueDownload(request, { id: 'dl-1' }), h.client.enqueueDownload(request, { id: 'dl-1' })]);
    expect(a).toBe('dl-1');
    expect(b).toBe('dl-1');
    await h.client.waitForDownload('dl-1', { timeoutMs: 20_000 });
    expect(await h.client.enqueueDownload(request, { id: 'dl-1' })).toBe('dl-1');
    expect(h.sim.inspect().calls['download_session.create']).toBe(1);
    await expect(h.client.enqueueDownload({ ...request, destination: 'other' }, { id: 'dl-1' })).rejects.toThrow(
      'invalid download request: id: dl-1 is already used by a different download',
    );
  });

  // BullMQ takes no ':' in a custom job id: the id used to pass validation, leave a record behind,
  // and fail inside BullMQ with "Custom Id cannot contain :".
  it('refuses an id BullMQ would refuse, before recording anything', async () => {
    h = await startHarness({ noWorker: true });
    const err = await h.client.enqueueDownload({ libraryItemId: 'i', destination: 'x' }, { id: 'nightly:photon' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err).toMatchObject({ field: 'id' });
    expect((err as Error).message).toContain('letters, digits, . _ -');
    expect(await h.client.listDownloads()).toEqual([]);
  });

  it.each([
    [{ destination: 'x' }, 'libraryItemId', 'is required'],
    [{ libraryItemId: 7, destination: 'x' }, 'libraryItemId', 'must be a string, got number'],
    [{ libraryItemId: 'i', destination: '../etc' }, 'destination', 'contains ".."'],
    [{ libraryItemId: 'i', destination: '/etc' }, 'destination', 'is absolute'],
    [{ libraryItemId: 'i', destination: 'x', vcenter: 'elsewhere' }, 'vcenter', '"elsewhere" is not a configured vCenter (known: default)'],
    [{ libraryItemId: 'i', destination: 'x', files: ['../../etc/passwd'] }, 'files.0', 'contains a path separator'],
    [{ libraryItemId: 'i', destination: 'x', overwrite: 'yes' }, 'overwrite', 'must be a boolean, got string'],
    [{ libraryItemId: 'i', destination: 'x', destinaton: 'typo' }, 'destinaton', 'is not a known field'],
    [{ libraryItemId: 'x'.repeat(300), destination: 'x' }, 'libraryItemId', 'at most 256'],
    ['not an object', 'request', 'must be a JSON object, got string'],
  ])('refuses %j on enqueue, naming %s', async (request, field, reason) => {
    h = await startHarness({ noWorker: true });
    const err = await h.client.enqueueDownload(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err).toMatchObject({ field });
    expect((err as Error).message).toContain(reason);
    expect(await h.client.listDownloads()).toEqual([]);
  });
});

describe('what a small download costs', () => {
  // Issue 13: a small item's cost is its calls. No session read back, no File.list beyond the
  // plan's and the polls, no keep-alive but the last for a download this short, no File.get when
  // the item's own listing vouched for the file.
  it('makes each vAPI call it needs once, and reads no session back', async () => {
    h = await startHarness({ simulator: { items: [{ name: 'small.iso', files: [{ name: 'small.iso', size: 64 * 1024 }] }], prepareDelayMs: 0 } });
    const item = h.sim.item('small.iso');
    const sha1 = await h.sim.fileChecksum(item.id, 'small.iso', 'SHA1'); // computed: the item's listing shows it
    const id = await h.client.enqueueDownload({ libraryItemId: item.id, destination: 'small' });
    const result = await h.client.waitForDownload(id, { timeoutMs: 20_000 });
    expect(result.files).toEqual([expect.objectContaining({ name: 'small.iso', checksum: sha1, verified: true })]);

    const { calls, sessions } = h.sim.inspect();
    expect(calls).toMatchObject({ 'item.get': 1, 'item.files': 1, 'download_session.create': 1, 'file.prepare': 1, 'download_session.delete': 1, 'file.get': 0 });
    // A slow machine may see a regular beat (keep_alive, then get); the last one is a keep_alive alone.
    expect(calls['download_session.get']).toBe(calls['download_session.keep_alive'] - 1);
    expect(calls['file.list']).toBeLessThanOrEqual(2); // the plan's, and a poll: the simulator prepares after answering
    expect(sessions[0]).toMatchObject({ gone: 'deleted', progress: 100 });
    expect(await h.client.getDownload(id)).toMatchObject({ state: 'completed', attempt: 1, contentVersion: '1', progress: { percent: 100, filesDone: 1, filesTotal: 1 } });
    expect(await h.redis.hlen(keysFor(h.prefix).sessions)).toBe(0); // dropped from the index with the outcome
  });
});

describe('one destination, several downloads', () => {
  // Two items that both hold disk.bin, queued at once to one directory with overwrite: each
  // download writes its own part, the second waits while the first holds the file, and each
  // reports the checksum of what was under the final name when it committed.
  it('never mixes two downloads of one file name: the second waits, each reports what it committed', async () => {
    const disk = (name: string, size: number): ItemSpec => ({ name, files: [{ name: 'disk.bin', size }] });
    h = await startHarness({ simulator: { items: [disk('a', 6 * 1024 * 1024), disk('b', 6 * 1024 * 1024 + 1)] } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 24 * 1024 * 1024 });
    const ids = await Promise.all(['a', 'b'].map((n) => h!.client.enqueueDownload({ libraryItemId: h!.sim.item(n).id, destination: 'shared', overwrite: true })));
    const waited = new Set<string>();
    const poll = setInterval(() => {
      for (const id of ids) void h?.client.getDownload(id).then((s) => s?.lastError?.includes('is being written by download') && waited.add(id));
    }, 20);
    const results = await Promise.all(ids.map((id) => h!.client.waitForDownload(id, { timeoutMs: 30_000 })));
    clearInterval(poll);
    expect(waited.size).toBe(1);
    const statuses = await Promise.all(ids.map((id) => h!.client.getDownload(id)));
    const last = statuses[0]!.finishedAt! > statuses[1]!.finishedAt! ? 0 : 1;
    const onDisk = await hashFile(path.join(h.root, 'shared', 'disk.bin'), 'sha1');
    expect(results[last]!.files[0]).toMatchObject({ checksum: onDisk, verified: true });
    expect(onDisk).toBe(await h.sim.fileChecksum(h.sim.item(['a', 'b'][last]!).id, 'disk.bin', 'SHA1'));
    expect(await h.listDir('shared')).toEqual(['disk.bin']);
  });

  it("leaves someone else's X.part alone, and downloads an item holding both X and X.part", async () => {
    const both: ItemSpec = { name: 'both', files: [{ name: 'x.iso', size: 100_000 }, { name: 'x.iso.part', size: 50_000 }] };
    h = await startHarness({ simulator: { items: [both, ISO] } });
    await mkdir(path.join(h.root, 'isos'));
    await writeFile(path.join(h.root, 'isos', 'photon.iso.part'), 'not cldl\'s');
    const iso = await h.client.enqueueDownload({ libraryItemId: h.sim.item('photon.iso').id, destination: 'isos' });
    await h.client.waitForDownload(iso, { timeoutMs: 20_000 });
    expect(await readFile(path.join(h.root, 'isos', 'photon.iso.part'), 'utf8')).toBe('not cldl\'s');
    const pair = await h.client.enqueueDownload({ libraryItemId: h.sim.item('both').id, destination: 'both' });
    await h.client.waitForDownload(pair, { timeoutMs: 20_000 });
    expect(await h.listDir('both')).toEqual(['x.iso', 'x.iso.part']);
    for (const f of ['x.iso', 'x.iso.part']) expect(await h.sha256(`both/${f}`)).toBe(await h.expectedSha256('both', f));
  });
});
