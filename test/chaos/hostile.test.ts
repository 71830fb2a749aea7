import { mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadFailedError } from '../../src/orchestrator/index.ts';
import { hashFile } from '../../src/transfer/index.ts';
import { startOwnRedis, type OwnRedis } from '../support/redis-server.ts';
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

// What the hardening issue reproduced against cldl, each against real worker processes.
describe('chaos: a hostile world', () => {
  it('exits within the grace period and 5 s of SIGTERM when Redis is gone', async () => {
    redis = await startOwnRedis();
    c = await startChaos({ items: [{ name: 'big.iso', files: [{ name: 'big.iso', size: 256 * MB }] }], redisUrl: redis.url });
    c.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 20 * MB });
    const worker = await c.startWorker();
    const id = await c.enqueue('big.iso');
    await untilBytes(c.client, id, 10 * MB);
    await redis.down();
    const started = Date.now();
    const exit = await worker.stop('SIGTERM');
    const tookMs = Date.now() - started;
    expect(tookMs, worker.output().slice(-2000)).toBeLessThan(3000 + 5000); // shutdownGraceMs is 3 s here
    expect(exit.signal).toBeNull();
    await redis.up();
  });

  it('two downloads of one file name into one destination: one waits, the file is whole and matches what its job reports', async () => {
    const disk = (name: string) => ({ name, files: [{ name: 'disk.bin', size: 48 * MB + name.length }] });
    c = await startChaos({ items: [disk('a'), disk('bb')] });
    c.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 60 * MB });
    await c.startWorker();
    await c.startWorker();
    const ids = await Promise.all(['a', 'bb'].map((n) => c!.enqueue(n, 'shared')));
    const results = await Promise.all(ids.map((id) => c!.client.waitForDownload(id, { timeoutMs: 120_000 })));
    const statuses = await Promise.all(ids.map((id) => c!.client.getDownload(id)));
    const last = statuses[0]!.finishedAt! > statuses[1]!.finishedAt! ? 0 : 1;
    const onDisk = await hashFile(path.join(c.root, 'shared', 'disk.bin'), 'sha1');
    expect(results[last]!.files[0]!.checksum).toBe(onDisk);
    expect(onDisk).toBe(await c.sim.fileChecksum(c.sim.item(['a', 'bb'][last]!).id, 'disk.bin', 'SHA1'));
    expect(await readdir(path.join(c.root, 'shared'))).toEqual(['disk.bin']);
    c.expectNoSessionLeft();
  });

  it('writes nothing outside the root when the destination is swapped for a symbolic link while vCenter prepares', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'cldl-outside-'));
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    c = await startChaos({ items: [{ name: 'photon.iso', files: [{ name: 'photon.iso', size: 8 * MB }] }], jobs: { attempts: 1 } });
    c.sim.faults.add({ kind: 'slow-prepare', ms: 3000 });
    await c.startWorker();
    await mkdir(path.join(c.root, 'iso', 'photon'), { recursive: true });
    const id = await c.enqueue('photon.iso', 'iso/photon');
    await expect.poll(async () => (await c!.client.getDownload(id))?.state, { timeout: 20_000, interval: 20 }).toBe('preparing');
    await rename(path.join(c.root, 'iso', 'photon'), path.join(c.root, 'iso', 'moved'));
    await symlink(outside, path.join(c.root, 'iso', 'photon'));
    const err = await c.client.waitForDownload(id, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadFailedError);
    expect((err as Error).message).toMatch(/was replaced while cldl was using it/);
    expect(await readdir(outside)).toEqual([]);
    c.expectNoSessionLeft(c.sim.inspect().sessions.filter((s) => s.state === 'ERROR').map((s) => s.id));
  });

  it('stops at the listed size when the data server sends 256 MiB past the end of a file', async () => {
    c = await startChaos({ items: [{ name: 'photon.iso', files: [{ name: 'photon.iso', size: 40 * MB }] }], jobs: { attempts: 2 } });
    c.sim.faults.add({ kind: 'overlong', extraBytes: 256 * MB, file: 'photon.iso' });
    await c.startWorker();
    const id = await c.enqueue('photon.iso');
    const err = await c.client.waitForDownload(id, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadFailedError);
    expect((err as Error).message).toMatch(/photon.iso: the server sent more than the 41943040 bytes the file holds/);
    expect(c.sim.inspect().dataGets).toBe(1); // failed at once, not retried
    await c.expectNothing('photon.iso');
    await c.expectStillServes();
  });

  it('keeps its memory when vCenter answers a call with 256 MiB of JSON', async () => {
    c = await startChaos({ items: [{ name: 'photon.iso', files: [{ name: 'photon.iso', size: MB }] }], jobs: { attempts: 1 } });
    c.sim.faults.add({ kind: 'huge-json', op: 'item.get', bytes: 256 * MB, times: 1 });
    const worker = await c.startWorker();
    const id = await c.enqueue('photon.iso');
    const err = await c.client.waitForDownload(id, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/over the 8 MiB cap \(maxResponseBytes\)/);
    const rss = await readRssMiB(worker.child.pid!);
    expect(rss).toBeLessThan(300);
    await c.expectStillServes();
  });

  it('cancels a download waiting out its backoff: session ended, every part gone', async () => {
    c = await startChaos({ items: [{ name: 'big.iso', files: [{ name: 'big.iso', size: 128 * MB }] }] });
    // Every data request fails: the attempt gives up, and the job waits out its backoff with its
    // session ACTIVE and its part on disk.
    c.sim.faults.add({ kind: 'error', op: 'data', error: 'service_unavailable' });
    await c.startWorker();
    const id = await c.enqueue('big.iso');
    await expect
      .poll(async () => {
        const s = await c!.client.getDownload(id);
        return s && s.attempt >= 1 && s.state === 'queued';
      }, { timeout: 60_000, interval: 50 })
      .toBe(true);
    expect((await readdir(path.join(c.root, 'big.iso'))).some((n) => n.endsWith('.cldl-part'))).toBe(true);
    expect(await c.client.cancelDownload(id)).toBe('canceling');
    await expect(c.client.waitForDownload(id, { timeoutMs: 30_000 })).rejects.toMatchObject({ state: 'canceled' });
    await c.expectNothing('big.iso');
    c.sim.faults.clear();
    c.expectNoSessionLeft();
    await sleep(100);
  });
});

async function readRssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}
