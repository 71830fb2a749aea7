import { afterEach, describe, expect, it } from 'vitest';
import { startOwnRedisCluster, type OwnRedisCluster } from '../support/redis-server.ts';
import { MB, startChaos, untilBytes, type Chaos } from './support.ts';

let c: Chaos | undefined;
let cluster: OwnRedisCluster | undefined;
afterEach(async () => {
  // Workers first: they would otherwise spend the teardown reconnecting to a vanishing cluster.
  try {
    await c?.stop();
  } finally {
    c = undefined;
    await cluster?.stop();
    cluster = undefined;
  }
});

const EAST = { name: 'east.iso', files: [{ name: 'east.iso', size: 128 * MB + 3 }] };
const WEST = {
  name: 'west',
  manifest: true,
  files: [
    { name: 'west.ovf', size: 8 * 1024 },
    { name: 'west-disk1.vmdk', size: 96 * MB + 7 },
    { name: 'west-disk2.vmdk', size: 32 * MB },
  ],
};

// Redis Cluster replicates asynchronously and fails over in seconds: while the slot of cldl's hash
// tag has no master, every command and script fails (MOVED to a dead node, then CLUSTERDOWN), lock
// renewals with them, and the last writes before the crash may be gone. A regression looks like a
// worker that crashes or stays unready, a job stuck active, a session left ACTIVE, or a file
// committed from two writers.
describe('chaos: Redis Cluster', () => {
  it('completes every download byte-identical when the master of its slot dies and a replica takes over', async () => {
    cluster = await startOwnRedisCluster({ masters: 3, replicasPerMaster: 1 });
    c = await startChaos({ items: [EAST, WEST], redisClusterNodes: cluster.nodes });
    // Slow enough that both transfers are under way when the master dies and go on after.
    c.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 40 * MB });
    // One job each: two workers downloading, both on the slot that loses its master.
    await c.startWorker({ CLDL_CONCURRENCY: '1' });
    await c.startWorker({ CLDL_CONCURRENCY: '1' });
    const ids = [await c.enqueue('east.iso'), await c.enqueue('west')];
    await Promise.all(ids.map((id) => untilBytes(c!.client, id, 16 * MB)));
    for (const id of ids) expect((await c.client.getDownload(id))?.state, 'mid-transfer when the master dies').toBe('transferring');

    // Every key of the scenario carries the prefix's hash tag: one slot, one master.
    const master = await cluster.masterOf(c.prefix);
    await cluster.kill(master);
    const promoted = await cluster.failedOver(c.prefix, master);
    expect(promoted).not.toBe(master);

    c.sim.faults.clear();
    await Promise.all(ids.map((id) => c!.client.waitForDownload(id, { timeoutMs: 60_000 })));
    await c.expectIdentical('east.iso');
    await c.expectIdentical('west');
    c.expectNoSessionLeft();
    // Neither worker died of the failover, and both say they are ready again: a probe would not restart them.
    for (const w of c.workers) {
      expect({ exit: w.child.exitCode, signal: w.child.signalCode }).toEqual({ exit: null, signal: null });
      await expect.poll(async () => (await fetch(`${w.url}/readyz`)).status, { timeout: 30_000, interval: 200 }).toBe(200);
    }
    await c.expectStillServes();
  });
});
