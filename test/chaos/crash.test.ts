import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { GB, MB, randomBetween, startChaos, untilBytes, type Chaos } from './support.ts';

let c: Chaos | undefined;
afterEach(async () => {
  await c?.stop();
  c = undefined;
});

describe('chaos: workers dying', () => {
  it('finishes a 1 GiB item byte-identical after its worker is SIGKILLed five times at random moments', async () => {
    c = await startChaos({ items: [{ name: 'big.iso', files: [{ name: 'big.iso', size: GB }] }] });
    // Slow enough that the five kills land during the transfer, not after it.
    c.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 60 * MB });
    let worker = await c.startWorker();
    const id = await c.enqueue('big.iso');
    const killedAt: number[] = [];
    for (let kill = 0; kill < 5; kill++) {
      // Anywhere from the first vAPI calls to well into the transfer.
      await sleep(randomBetween(300, 2500));
      killedAt.push((await c.client.getDownload(id))!.progress.bytesDone);
      expect(await worker.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
      worker = await c.startWorker();
    }
    c.sim.faults.clear();
    await c.client.waitForDownload(id, { timeoutMs: 180_000 });

    await c.expectIdentical('big.iso');
    // Every worker resumed in the one session (the client token makes even a kill between create
    // and recording its id come back to it), and the last one deleted it.
    expect(c.sim.inspect().sessions.filter((s) => s.itemName === 'big.iso')).toHaveLength(1);
    c.expectNoSessionLeft();
    // Resumed, not restarted: the byte counts at the kills never went backwards.
    expect(killedAt).toEqual([...killedAt].sort((a, b) => a - b));
    await c.expectStillServes();
  });

  it('exits 0 on SIGTERM during four transfers, requeueing them without losing an attempt; a new worker finishes them', async () => {
    const items = ['a', 'b', 'c', 'd'].map((n) => ({ name: `${n}.iso`, files: [{ name: `${n}.iso`, size: 96 * MB }] }));
    c = await startChaos({ items });
    c.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 40 * MB });
    const first = await c.startWorker();
    const ids = await Promise.all(items.map((i) => c!.enqueue(i.name)));
    for (const id of ids) await untilBytes(c.client, id, MB);
    const t0 = Date.now();
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // The grace period is 3 s; the requeue and the close take well under a second more.
    expect(Date.now() - t0).toBeLessThan(8000);
    for (const id of ids) expect((await c.client.getDownload(id))!.state).toBe('queued');

    c.sim.faults.clear();
    await c.startWorker();
    await Promise.all(ids.map((id) => c!.client.waitForDownload(id, { timeoutMs: 120_000 })));
    for (const i of items) await c.expectIdentical(i.name);
    const queue = new Queue('downloads', { connection: c.redis, prefix: c.prefix });
    for (const id of ids) expect((await queue.getJob(id))!.attemptsMade).toBe(1);
    await queue.close();
    expect(c.sim.inspect().sessions.filter((s) => s.itemName !== 'canary.iso')).toHaveLength(4);
    c.expectNoSessionLeft();
    await c.expectStillServes();
  });
});
