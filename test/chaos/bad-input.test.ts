import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/orchestrator/index.ts';
import { MB, startChaos, type Chaos } from './support.ts';

let c: Chaos | undefined;
afterEach(async () => {
  await c?.stop();
  c = undefined;
});

const MEGA = 'x'.repeat(1024 * 1024);

/** One malformed request of each kind, with the field a refusal must name. */
function malformed(i: number, itemId: string): { body: unknown; field: string } {
  const cases: Array<{ body: unknown; field: string }> = [
    { body: { destination: `d${i}` }, field: 'libraryItemId' },
    { body: { libraryItemId: itemId }, field: 'destination' },
    { body: { libraryItemId: i, destination: 'd' }, field: 'libraryItemId' },
    { body: { libraryItemId: itemId, destination: ['d'] }, field: 'destination' },
    { body: { libraryItemId: itemId, destination: `../escape-${i}` }, field: 'destination' },
    { body: { libraryItemId: itemId, destination: '/etc/cron.d' }, field: 'destination' },
    { body: { libraryItemId: itemId, destination: 'a/../../b' }, field: 'destination' },
    { body: { libraryItemId: itemId, destination: 'nul\0byte' }, field: 'destination' },
    { body: { libraryItemId: itemId, destination: 'd', vcenter: `nowhere-${i}` }, field: 'vcenter' },
    { body: { libraryItemId: MEGA, destination: 'd' }, field: 'libraryItemId' },
    { body: { libraryItemId: itemId, destination: MEGA }, field: 'destination' },
    { body: { libraryItemId: itemId, destination: 'd', files: [MEGA] }, field: 'files.0' },
    { body: { libraryItemId: itemId, destination: 'd', files: ['../../etc/passwd'] }, field: 'files.0' },
    { body: { libraryItemId: itemId, destination: 'd', files: [] }, field: 'files' },
    { body: { libraryItemId: itemId, destination: 'd', overwrite: 'true' }, field: 'overwrite' },
    { body: { libraryItemId: itemId, destination: 'd', extra: { nested: true } }, field: 'extra' },
    { body: null, field: 'request' },
    { body: [itemId, 'd'], field: 'request' },
    { body: 42, field: 'request' },
  ];
  return cases[i % cases.length]!;
}

describe('chaos: bad input', () => {
  it('refuses 500 malformed requests by field, through the producer and HTTP, while good downloads complete', async () => {
    c = await startChaos({ items: [{ name: 'good.iso', files: [{ name: 'good.iso', size: 2 * MB }] }] });
    const worker = await c.startWorker();
    const itemId = c.sim.item('good.iso').id;
    const good: string[] = [];
    const refusals: Array<{ via: string; field: string; expected: string }> = [];

    for (let i = 0; i < 500; i++) {
      if (i % 100 === 50) good.push(await c.enqueue('good.iso', `good-${i}`));
      const { body, field } = malformed(i, itemId);
      if (i % 2 === 0) {
        const err = await c.client.enqueueDownload(body).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidRequestError);
        refusals.push({ via: 'producer', field: (err as InvalidRequestError).field, expected: field });
      } else {
        const res = await fetch(`${worker.url}/downloads`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // Every tenth over HTTP is not even JSON.
          body: i % 10 === 1 ? `{"libraryItemId": "${itemId}", destination: ` : JSON.stringify(body),
        });
        const json = (await res.json()) as { error: { field: string; message: string } };
        expect(res.status).toBe(400);
        refusals.push({ via: 'http', field: json.error.field, expected: i % 10 === 1 ? 'body' : field });
      }
    }
    expect(refusals.filter((r) => r.field !== r.expected)).toEqual([]);
    expect(refusals).toHaveLength(500);

    // Jobs that skipped the producer's validation (another client, an old version): the worker's own
    // check refuses them with the field, and goes on.
    const queue = new Queue('downloads', { connection: c.redis, prefix: c.prefix });
    const smuggled = [4, 8, 12, 15, 17].map((n) => ({ id: `smuggled-${n}`, ...malformed(n, itemId) }));
    for (const s of smuggled) await queue.add('download', { request: s.body }, { jobId: s.id, attempts: 3 });
    await queue.close();

    for (const id of good) await c.client.waitForDownload(id, { timeoutMs: 60_000 });
    for (const s of smuggled) {
      await expect(c.client.waitForDownload(s.id, { timeoutMs: 30_000 })).rejects.toThrow(`invalid download request: ${s.field}: `);
    }
    expect(worker.child.exitCode).toBeNull();
    for (const [i] of good.entries()) await c.expectIdentical('good.iso', `good-${i * 100 + 50}`);
    // Refused requests never reached vCenter: the only sessions are the good downloads'.
    expect(c.sim.inspect().sessions).toHaveLength(good.length);
    c.expectNoSessionLeft();
    await c.expectStillServes();
  });
});
