import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadClient, DownloadWorker, MapVCenterRegistry } from '../../src/orchestrator/index.ts';
import { VCenterClient } from '../../src/vsphere/index.ts';
import { testLogger, workerDefaults } from '../support/harness.ts';
import { connectRedis, dropPrefix, testPrefix } from '../support/redis.ts';
import { startSpecProxy, type SpecProxy } from '../support/spec-proxy.ts';
import { locateVcsim, startVcsim, type Vcsim } from '../support/vcsim.ts';

// The whole orchestrator against an independent peer: govmomi's vcsim, /rest, through the spec proxy.
const located = await locateVcsim();
if ('missing' in located) {
  if (process.env.CLDL_REQUIRE_VCSIM === '1') throw new Error(`vcsim is required here but unavailable: ${located.missing}`);
  console.warn(`\n*** SKIPPING the orchestrator's vcsim suite: ${located.missing} ***\n`);
}

describe.skipIf('missing' in located)('a download from govmomi vcsim', () => {
  const files = { 'tiny.ovf': randomBytes(900), 'tiny-disk1.vmdk': randomBytes(3 * 1024 * 1024 + 3) };
  const isos = { 'alpha.iso': randomBytes(700_001), 'beta.iso': randomBytes(1_200_003) };
  let seed: string;
  let root: string;
  let vcsim: Vcsim;
  let proxy: SpecProxy;
  let vcenter: VCenterClient;
  let worker: DownloadWorker;
  let client: DownloadClient;
  const prefix = testPrefix();
  const redis = connectRedis();

  beforeAll(async () => {
    seed = await mkdtemp(path.join(tmpdir(), 'cldl-seed-'));
    root = await mkdtemp(path.join(tmpdir(), 'cldl-root-'));
    await mkdir(path.join(seed, 'tiny'));
    for (const [name, data] of Object.entries(files)) await writeFile(path.join(seed, 'tiny', name), data);
    const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
    await writeFile(path.join(seed, 'tiny', 'tiny.mf'), Object.entries(files).map(([n, d]) => `SHA1(${n})= ${sha1(d)}\n`).join(''));
    for (const [name, data] of Object.entries(isos)) await writeFile(path.join(seed, name), data);
    vcsim = await startVcsim((located as { bin: string }).bin, seed);
    proxy = await startSpecProxy(vcsim.url);
    // The proxy forwards vAPI calls; vcsim's data URLs name vcsim's own port.
    vcenter = new VCenterClient({ url: proxy.url, username: vcsim.user, password: vcsim.password, api: 'rest', dataHosts: [new URL(vcsim.url).host] });
    worker = await DownloadWorker.start({
      ...workerDefaults(),
      redis,
      prefix,
      downloadRoot: root,
      vcenters: new MapVCenterRegistry([vcenter]),
      logger: testLogger(),
    });
    client = new DownloadClient({ redis: connectRedis(), prefix });
  });

  afterAll(async () => {
    await client?.close();
    await worker?.close();
    await vcenter?.close();
    await proxy?.stop();
    await vcsim?.stop();
    await dropPrefix(redis, prefix);
    await redis.quit();
    await rm(seed, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });

  it('downloads every file of a multi-file item byte for byte, checks the manifest, and deletes the session', async () => {
    const itemId = vcsim.items['tiny']!.id;
    const id = await client.enqueueDownload({ libraryItemId: itemId, destination: 'vcsim/tiny' });
    const result = await client.waitForDownload(id, { timeoutMs: 30_000 });
    for (const [name, data] of Object.entries(files)) {
      expect((await readFile(path.join(root, 'vcsim/tiny', name))).equals(data)).toBe(true);
    }
    // vcsim reports no checksum_info; the OVF manifest vouches for the files it lists.
    expect(result.files.filter((f) => f.name !== 'tiny.mf').every((f) => f.verified)).toBe(true);
    expect(await vcenter.sessions.list()).not.toContain(result.sessionId);
    const { violations } = await proxy.report();
    expect(violations.filter((v) => v.side === 'client')).toEqual([]);
  });

  it('mirrors the library: every item byte for byte, no session left, and nothing moved the second time', async () => {
    const id = await client.mirrorLibrary({ library: vcsim.library_id, destination: 'vcsim-mirror' });
    const done = await client.waitForMirror(id, { timeoutMs: 60_000 });
    expect(done).toMatchObject({ state: 'completed', progress: { itemsTotal: 3, itemsDone: 3 } });
    for (const [name, data] of Object.entries(files)) expect((await readFile(path.join(root, 'vcsim-mirror', 'tiny', name))).equals(data)).toBe(true);
    for (const [name, data] of Object.entries(isos)) expect((await readFile(path.join(root, 'vcsim-mirror', name, name))).equals(data)).toBe(true);
    expect(await vcenter.sessions.list()).toEqual([]);
    const again = await client.waitForMirror(await client.mirrorLibrary({ library: vcsim.library_id, destination: 'vcsim-mirror' }), { timeoutMs: 60_000 });
    expect(again.progress).toMatchObject({ itemsTotal: 3, itemsCurrent: 3, itemsDone: 0 });
    const { violations } = await proxy.report();
    expect(violations.filter((v) => v.side === 'client')).toEqual([]);
  });
});
