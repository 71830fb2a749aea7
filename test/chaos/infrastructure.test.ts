import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadFailedError } from '../../src/orchestrator/index.ts';
import { startOwnRedis, type OwnRedis } from '../support/redis-server.ts';
import { mountSmallDisk } from '../support/tmpfs.ts';
import { MB, startChaos, untilBytes, type Chaos } from './support.ts';

let c: Chaos | undefined;
let redis: OwnRedis | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await c?.stop();
  c = undefined;
  await redis?.stop();
  redis = undefined;
  for (const f of cleanups.splice(0)) await f();
});

const BIG = { name: 'big.iso', files: [{ name: 'big.iso', size: 256 * MB }] };
const OVF = {
  name: 'tpl',
  manifest: true,
  files: [
    { name: 'tpl.ovf', size: 8 * 1024 },
    { name: 'tpl-disk1.vmdk', size: 96 * MB },
    { name: 'tpl-disk2.vmdk', size: 32 * MB + 5 },
  ],
};

describe('chaos: infrastructure', () => {
  it('completes a download across two Redis restarts (AOF on)', async () => {
    redis = await startOwnRedis();
    c = await startChaos({ items: [BIG], redisUrl: redis.url });
    c.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 40 * MB });
    await c.startWorker();
    const id = await c.enqueue('big.iso');
    await untilBytes(c.client, id, 40 * MB);
    await redis.restart(1000);
    await untilBytes(c.client, id, 120 * MB);
    await redis.restart(1000);
    c.sim.faults.clear();
    await c.client.waitForDownload(id, { timeoutMs: 120_000 });
    await c.expectIdentical('big.iso');
    c.expectNoSessionLeft();
    await c.expectStillServes();
  });

  it('fails cleanly when the disk fills up: a message naming the disk, reaching vCenter, and no .part left', async () => {
    const disk = await mountSmallDisk(40 * MB);
    cleanups.push(() => disk.unmount());
    c = await startChaos({ items: [BIG] });
    await c.startWorker({ CLDL_DOWNLOAD_ROOT: disk.dir });
    const id = await c.enqueue('big.iso');
    const err = await c.client.waitForDownload(id, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadFailedError);
    expect((err as Error).message).toMatch(new RegExp(`no space left on the device holding ${disk.dir}/big.iso/\\.big\\.iso\\.[0-9a-f]{12}\\.cldl-part`));
    const [session] = c.sim.inspect().sessions;
    expect(session!.state).toBe('ERROR');
    expect(session!.errorMessage).toMatch(/no space left on the device holding .*; free space there and retry the download/);
    expect(await readdir(path.join(disk.dir, 'big.iso'))).toEqual([]);
    // The failed session stays in ERROR on vCenter for an admin to see, until it expires.
    c.expectNoSessionLeft([session!.id]);
    c.workers[0]!.child.kill('SIGKILL');
    await c.startWorker(); // the canary goes to the normal root
    await c.expectStillServes();
  });
});

describe('chaos: network and vCenter', () => {
  it('resumes through a connection reset every few MB', async () => {
    c = await startChaos({ items: [OVF] });
    c.sim.faults.add({ kind: 'reset', afterBytes: 6 * MB, rst: true });
    await c.startWorker();
    const id = await c.enqueue('tpl');
    await c.client.waitForDownload(id, { timeoutMs: 120_000 });
    c.sim.faults.clear();
    await c.expectIdentical('tpl');
    expect(c.sim.inspect().dataRequests.length).toBeGreaterThan(20);
    c.expectNoSessionLeft();
    await c.expectStillServes();
  });

  it('starts files over on a server that ignores Range, through repeated resets', async () => {
    c = await startChaos({ items: [OVF], simulator: { ranges: false } });
    c.sim.faults.add({ kind: 'reset', afterBytes: 20 * MB, times: 4 });
    await c.startWorker();
    const id = await c.enqueue('tpl');
    await c.client.waitForDownload(id, { timeoutMs: 120_000 });
    await c.expectIdentical('tpl');
    expect(c.sim.inspect().dataRequests.every((r) => r.status === 200)).toBe(true);
    c.expectNoSessionLeft();
    await c.expectStillServes();
  });

  it('rides out 10% of vAPI calls answering 503 and its API session invalidated every few seconds', async () => {
    c = await startChaos({ items: [OVF], simulator: { seed: 42 } });
    c.sim.faults.add({ kind: 'error', op: '*', error: 'service_unavailable', probability: 0.1 });
    // 30 s in production terms; every 2 s here so that a one-minute scenario meets it many times.
    c.sim.faults.add({ kind: 'invalidate-api-sessions', every: 2000 });
    c.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 30 * MB });
    await c.startWorker();
    const id = await c.enqueue('tpl');
    await c.client.waitForDownload(id, { timeoutMs: 120_000 });
    await c.expectIdentical('tpl');
    expect(c.sim.inspect().calls.login).toBeGreaterThan(1);
    c.sim.faults.clear();
    c.expectNoSessionLeft();
    await c.expectStillServes();
  });

  it('continues in a fresh session when vCenter expires the session mid-transfer', async () => {
    c = await startChaos({ items: [BIG] });
    c.sim.faults.add({ kind: 'expire-session', afterBytes: 100 * MB, times: 1 });
    await c.startWorker();
    const id = await c.enqueue('big.iso');
    await c.client.waitForDownload(id, { timeoutMs: 120_000 });
    await c.expectIdentical('big.iso');
    expect(c.sim.inspect().sessions.map((s) => s.gone)).toEqual(['expired', 'deleted']);
    c.expectNoSessionLeft();
    await c.expectStillServes();
  });

  it('stops, leaving nothing under a final name, when an admin cancels the session on vCenter', async () => {
    c = await startChaos({ items: [OVF] });
    c.sim.faults.add({ kind: 'cancel-session', afterBytes: 40 * MB, times: 1 });
    await c.startWorker();
    const id = await c.enqueue('tpl');
    await expect(c.client.waitForDownload(id, { timeoutMs: 60_000 })).rejects.toThrow(/as CANCELED/);
    await c.expectNothing('tpl');
    const [session] = c.sim.inspect().sessions;
    expect(session!.state).toBe('CANCELED');
    c.expectNoSessionLeft([session!.id]);
    await c.expectStillServes();
  });
});
