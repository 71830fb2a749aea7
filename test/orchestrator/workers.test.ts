import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadClient, DownloadFailedError, keysFor, type DownloadProgress } from '../../src/orchestrator/index.ts';
import type { ItemSpec } from '../../src/simulator/index.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { connectRedis, REDIS_URL } from '../support/redis.ts';
import { startOwnRedis, type OwnRedis } from '../support/redis-server.ts';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

let h: Harness | undefined;
const procs: WorkerProcess[] = [];
let ownRedis: OwnRedis | undefined;
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  await h?.stop();
  h = undefined;
  await ownRedis?.stop();
  ownRedis = undefined;
});

const MB = 1024 * 1024;
const item = (name: string, size: number): ItemSpec => ({ name, files: [{ name, size }] });

/** Resolves once the download has `bytes` on disk. */
async function untilBytes(client: DownloadClient, id: string, bytes: number): Promise<void> {
  await expect
    .poll(async () => (await client.getDownload(id))?.progress.bytesDone ?? 0, { timeout: 20_000, interval: 25 })
    .toBeGreaterThanOrEqual(bytes);
}

describe('cancellation', () => {
  it('removes a waiting download from the queue', async () => {
    h = await startHarness({ noWorker: true, simulator: { items: [item('a.iso', MB)] } });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('a.iso').id, destination: 'out' });
    expect(await h.client.cancelDownload(id)).toBe('removed');
    expect(await h.client.getDownload(id)).toMatchObject({ state: 'canceled' });
    await expect(h.client.waitForDownload(id, { timeoutMs: 5000 })).rejects.toMatchObject({ state: 'canceled' });
    await h.addWorker();
    expect(h.sim.inspect().calls['download_session.create']).toBe(0);
  });

  it('stops an active download from another process: session CANCELED, nothing on disk, never retried', async () => {
    h = await startHarness({ simulator: { items: [item('big.iso', 40 * MB)] } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 10 * MB });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await untilBytes(h.client, id, 2 * MB);
    // A separate client, as another service would have: the notice reaches the worker over pub/sub.
    const other = new DownloadClient({ redis: REDIS_URL, prefix: h.prefix });
    const canceled = new Promise<string>((resolve) => other.on('canceled', (jobId) => resolve(jobId)));
    expect(await other.cancelDownload(id)).toBe('canceling');
    await expect(h.client.waitForDownload(id, { timeoutMs: 10_000 })).rejects.toThrow(DownloadFailedError);
    expect(await canceled).toBe(id);
    await other.close();
    const [session] = h.sim.inspect().sessions;
    expect(session).toMatchObject({ state: 'CANCELED', gone: 'deleted' }); // canceled, then not left to linger
    expect(await h.listDir('out')).toEqual([]);
    expect(await h.client.getDownload(id)).toMatchObject({ state: 'canceled', attempt: 1 });
    expect(await h.client.cancelDownload(id)).toBe('finished');
  });

  it('cancels a download waiting out its backoff: its session ends and every part goes', async () => {
    h = await startHarness({ simulator: { items: [item('big.iso', 40 * MB)] }, jobs: { attempts: 3, backoffMs: 60_000 } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 10 * MB });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await untilBytes(h.client, id, 2 * MB);
    // A transient failure: the job waits a minute before its next attempt, its session and part kept.
    h.sim.faults.add({ kind: 'error', op: 'file.get', error: 'service_unavailable' });
    h.sim.faults.add({ kind: 'reset', afterBytes: 0 });
    await expect.poll(async () => (await h!.client.getDownload(id))?.state, { timeout: 20_000 }).toBe('queued');
    expect(await h.partPath('out', 'big.iso')).toBeDefined();
    expect(h.sim.inspect().sessions[0]).toMatchObject({ state: 'ACTIVE', gone: null });

    expect(await h.client.cancelDownload(id)).toBe('canceling');
    await expect(h.client.waitForDownload(id, { timeoutMs: 10_000 })).rejects.toMatchObject({ state: 'canceled' });
    expect(await h.listDir('out')).toEqual([]);
    expect(h.sim.inspect().sessions[0]).toMatchObject({ state: 'CANCELED', gone: 'deleted' });
    expect(await h.redis.hlen(keysFor(h.prefix).sessions)).toBe(0);
  });

  it('sees a cancel flag set while no worker listened (a missed notice)', async () => {
    h = await startHarness({ simulator: { items: [item('big.iso', 40 * MB)] } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 10 * MB });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await untilBytes(h.client, id, MB);
    await h.redis.hset(keysFor(h.prefix).download(id), 'cancelRequested', '1'); // the flag, without the notice
    await expect(h.client.waitForDownload(id, { timeoutMs: 10_000 })).rejects.toMatchObject({ state: 'canceled' });
    expect(h.sim.inspect().sessions[0]!.state).toBe('CANCELED');
  });
});

describe('many workers', () => {
  it('share one queue: each download runs once, on one of them', async () => {
    const items = Array.from({ length: 8 }, (_, i) => item(`f${i}.iso`, 2 * MB + i));
    h = await startHarness({ simulator: { items }, worker: { concurrency: 2 } });
    await h.addWorker({ concurrency: 2 });
    const ids = await Promise.all(items.map((it) => h!.client.enqueueDownload({ libraryItemId: h!.sim.item(it.name).id, destination: it.name })));
    await Promise.all(ids.map((id) => h!.client.waitForDownload(id, { timeoutMs: 30_000 })));
    const workers = new Set((await Promise.all(ids.map((id) => h!.client.getDownload(id)))).map((s) => s!.worker));
    expect(workers.size).toBe(2);
    expect(h.sim.inspect().sessions).toHaveLength(8);
    for (const it of items) expect(await h.sha256(`${it.name}/${it.name}`)).toBe(await h.expectedSha256(it.name, it.name));
  });

  it('reports progress to followers while a download runs', async () => {
    h = await startHarness({ simulator: { items: [item('big.iso', 20 * MB)] } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 20 * MB });
    const seen: DownloadProgress[] = [];
    h.client.on('progress', (_id, p) => seen.push(p));
    const completed = new Promise<string>((resolve) => h!.client.on('completed', (id) => resolve(id)));
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await h.client.waitForDownload(id, { timeoutMs: 20_000 });
    expect(await completed).toBe(id);
    expect(seen.length).toBeGreaterThan(2);
    const percents = seen.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(seen.some((p) => p.bytesPerSecond > 0 && p.bytesDone < p.bytesTotal)).toBe(true);
    expect(seen.at(-1)).toMatchObject({ percent: 100, filesDone: 1, filesTotal: 1, bytesTotal: 20 * MB });
  });
});

describe('surviving failures', () => {
  it('resumes after a kill -9 mid-file on another worker, in the same session, keeping the bytes on disk', async () => {
    h = await startHarness({ noWorker: true, simulator: { items: [item('big.iso', 60 * MB)] } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 15 * MB });
    const config = h.processConfig({ lock: { durationMs: 2000, stalledIntervalMs: 1000, maxStalledCount: 10 } });
    const first = await startWorkerProcess(config);
    procs.push(first);
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await untilBytes(h.client, id, 10 * MB);
    expect(await first.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });

    const second = await startWorkerProcess(config);
    procs.push(second);
    await h.client.waitForDownload(id, { timeoutMs: 40_000 });
    expect(await h.sha256('out/big.iso')).toBe(await h.expectedSha256('big.iso', 'big.iso'));
    const sessions = h.sim.inspect().sessions;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.gone).toBe('deleted');
    const resumed = h.sim.inspect().dataRequests.at(-1)!;
    expect(Number(/bytes=(\d+)-/.exec(resumed.range ?? '')?.[1])).toBeGreaterThanOrEqual(8 * MB);
    expect(await h.listDir('out')).toEqual(['big.iso']);
  });

  it('completes a download across a Redis restart', async () => {
    ownRedis = await startOwnRedis();
    h = await startHarness({ redisUrl: ownRedis.url, simulator: { items: [item('big.iso', 40 * MB)] } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 15 * MB });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await untilBytes(h.client, id, 5 * MB);
    await ownRedis.restart(1000);
    await h.client.waitForDownload(id, { timeoutMs: 40_000 });
    expect(await h.sha256('out/big.iso')).toBe(await h.expectedSha256('big.iso', 'big.iso'));
    expect(h.sim.inspect().liveSessions).toBe(0);
  });

  it('stops writing when cut off from Redis for longer than the lock lasts, then finishes once Redis is back', async () => {
    ownRedis = await startOwnRedis();
    h = await startHarness({
      redisUrl: ownRedis.url,
      simulator: { items: [item('big.iso', 40 * MB)] },
      worker: { lock: { durationMs: 1500, stalledIntervalMs: 500, maxStalledCount: 10 } },
    });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 8 * MB });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await untilBytes(h.client, id, 2 * MB);
    await ownRedis.down();
    const part = (await h.partPath('out', 'big.iso'))!;
    await sleep(1800); // past 90% of the lock: the watchdog has aborted the job
    const stopped = (await stat(part)).size;
    await sleep(1000);
    expect((await stat(part)).size).toBe(stopped); // nobody writes while the lock is up for grabs
    expect(stopped).toBeLessThan(40 * MB);
    await ownRedis.up();
    await h.client.waitForDownload(id, { timeoutMs: 40_000 });
    expect(await h.sha256('out/big.iso')).toBe(await h.expectedSha256('big.iso', 'big.iso'));
    expect(h.sim.inspect().sessions).toHaveLength(1);
    expect(h.sim.inspect().calls['download_session.fail']).toBe(0);
  });

  it('requeues running downloads on shutdown without spending an attempt; another worker finishes them in the same sessions', async () => {
    h = await startHarness({ simulator: { items: [item('a.iso', 30 * MB), item('b.iso', 30 * MB)] } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 10 * MB });
    const ids = await Promise.all(['a.iso', 'b.iso'].map((n) => h!.client.enqueueDownload({ libraryItemId: h!.sim.item(n).id, destination: 'out' })));
    for (const id of ids) await untilBytes(h.client, id, MB);
    const started = Date.now();
    await h.worker.shutdown(300);
    expect(Date.now() - started).toBeLessThan(5000);
    for (const id of ids) expect(await h.client.getDownload(id)).toMatchObject({ state: 'queued', lastError: expect.stringMatching(/requeued/) as unknown });
    expect(h.sim.inspect().sessions.every((s) => s.state === 'ACTIVE' && s.gone === null)).toBe(true);

    await h.addWorker();
    await Promise.all(ids.map((id) => h!.client.waitForDownload(id, { timeoutMs: 30_000 })));
    expect(h.sim.inspect().sessions).toHaveLength(2);
    const { Queue } = await import('bullmq');
    const queue = new Queue('downloads', { connection: connectRedis(), prefix: h.prefix });
    // Started at least twice, but only the attempt that completed counts: the shutdown spent none.
    for (const id of ids) {
      const job = await queue.getJob(id);
      expect(job!.attemptsMade).toBe(1);
      expect(job!.attemptsStarted).toBeGreaterThanOrEqual(2);
    }
    for (const id of ids) expect(await h.client.getDownload(id)).toMatchObject({ state: 'completed', attempt: 1 });
    await queue.close();
  });

  it('exits 0 on SIGTERM within the grace period, leaving the download to the next worker', async () => {
    h = await startHarness({ noWorker: true, simulator: { items: [item('big.iso', 40 * MB)] } });
    h.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 10 * MB });
    const config = h.processConfig({ shutdownGraceMs: 500 });
    const first = await startWorkerProcess(config);
    procs.push(first);
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await untilBytes(h.client, id, 2 * MB);
    const t0 = Date.now();
    expect(await first.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await h.client.getDownload(id)).toMatchObject({ state: 'queued' });
    await h.addWorker();
    await h.client.waitForDownload(id, { timeoutMs: 30_000 });
    expect(h.sim.inspect().sessions).toHaveLength(1);
  });

  it('retries into the same session when a worker died between create and recording its id', async () => {
    h = await startHarness({ noWorker: true, simulator: { items: [item('a.iso', MB)] } });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('a.iso').id, destination: 'out' }, { id: 'crashy' });
    // What a dead worker leaves: the token in Redis, a session on vCenter, no session id recorded.
    const token = randomUUID();
    await h.redis.hset(keysFor(h.prefix).download(id), { clientToken: token, sessionGeneration: 1 });
    const leaked = await h.vcenter.sessions.create(h.sim.item('a.iso').id, token);
    await h.addWorker();
    const result = await h.client.waitForDownload(id, { timeoutMs: 20_000 });
    expect(result.sessionId).toBe(leaked);
    expect(h.sim.inspect().sessions).toHaveLength(1);
  });
});

describe('orphaned sessions', () => {
  it("cancels and deletes sessions Redis records as cldl's that no live job owns, and never touches others", async () => {
    h = await startHarness({ simulator: { items: [item('a.iso', MB)] } });
    const itemId = h.sim.item('a.iso').id;
    // The worker sweeps at start too: once that sweep is over, the orphan below is this test's to find.
    expect(await h.worker.sweepOrphans()).toBe(0);
    const orphan = await h.vcenter.sessions.create(itemId, randomUUID());
    const foreign = await h.vcenter.sessions.create(itemId, randomUUID());
    await h.redis.hset(keysFor(h.prefix).sessions, `default/${orphan}`, 'job-that-is-gone');
    expect(await h.worker.sweepOrphans()).toBe(1);
    const byId = new Map(h.sim.inspect().sessions.map((s) => [s.id, s]));
    expect(byId.get(orphan)).toMatchObject({ state: 'CANCELED', gone: 'deleted' });
    expect(byId.get(foreign)).toMatchObject({ state: 'ACTIVE', gone: null });
    expect(await h.redis.hlen(keysFor(h.prefix).sessions)).toBe(0);
  });
});
