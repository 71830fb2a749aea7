import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { DIALECTS, VapiCaller } from './wire.ts';

describe.each(DIALECTS)('inspect() over /%s', (dialect) => {
  const { startBare } = useSimulator();

  it('reports calls, every session with its history, files and data requests as plain data', async () => {
    const sim = await startBare({
      users: { alice: 'a', bob: 'b' },
      items: [{ name: 'tmpl', files: [{ name: 'tmpl.ovf', size: 3, content: '<a>' }, { name: 'tmpl-disk1.vmdk', size: 100_000 }] }],
    });
    const empty = sim.inspect();
    expect(empty.calls).toEqual(Object.fromEntries(OPERATION_NAMES.map((op) => [op, 0])));
    expect(empty).toMatchObject({ sessions: [], liveSessions: 0, apiSessions: 0, dataRequests: [] });

    const c = new VapiCaller(sim.url, dialect);
    await c.login('alice', 'a');
    const itemId = sim.item('tmpl').id;
    const t0 = Date.now();
    const failed = await c.createId(itemId, 'job-42');
    await c.prepare(failed, 'tmpl.ovf');
    const uri = (await c.waitPrepared(failed, 'tmpl.ovf')).download_endpoint!.uri;
    await c.download(uri);
    for (const p of [10, 50, 100]) await c.keepAlive(failed, p);
    await c.fail(failed, 'tmpl-disk1.vmdk: checksum mismatch');
    const deleted = await c.createId(itemId);
    await c.delete(deleted);

    const seen = sim.inspect();
    expect(seen.calls).toMatchObject({
      login: 1,
      'download_session.create': 2,
      'file.prepare': 1,
      'download_session.keep_alive': 3,
      'download_session.fail': 1,
      'download_session.delete': 1,
      data: 1,
    });
    expect(seen.liveSessions).toBe(1);
    expect(seen.apiSessions).toBe(1);
    expect(seen.sessions).toHaveLength(2);
    const s = seen.sessions[0]!;
    expect(s).toEqual({
      id: failed,
      user: 'alice',
      itemId,
      itemName: 'tmpl',
      clientToken: 'job-42',
      state: 'ERROR',
      gone: null,
      progress: 100,
      errorMessage: 'tmpl-disk1.vmdk: checksum mismatch',
      keepAlives: [10, 50, 100].map((progress) => ({ at: expect.any(Number) as number, progress })),
      createdAt: expect.any(Number) as number,
      expiresAt: expect.any(Number) as number,
      files: [
        { name: 'tmpl.ovf', status: 'PREPARED', bytesTransferred: 3, complete: true, errorMessage: null },
        { name: 'tmpl-disk1.vmdk', status: 'UNPREPARED', bytesTransferred: 0, complete: false, errorMessage: null },
      ],
    });
    // Progress rose monotonically, in time order.
    const ats = s.keepAlives.map((k) => k.at);
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    expect(s.createdAt).toBeGreaterThanOrEqual(t0);
    expect(seen.sessions[1]).toMatchObject({ id: deleted, gone: 'deleted', state: 'ACTIVE', clientToken: null });
    expect(seen.dataRequests).toEqual([
      { at: expect.any(Number) as number, session: failed, file: 'tmpl.ovf', range: null, status: 200, bytesSent: 3, ended: true, complete: true },
    ]);
    // A snapshot, not a live view.
    seen.sessions[0]!.files[0]!.bytesTransferred = -1;
    expect(sim.inspect().sessions[0]!.files[0]!.bytesTransferred).toBe(3);
  });

  it('counts sessions created and data GETs, overall and per item, so a test can see that nothing moved', async () => {
    const sim = await startBare({
      checksumsAtStart: false,
      items: [
        { name: 'a', files: [{ name: 'a.iso', size: 1000 }] },
        { name: 'b', files: [{ name: 'b.iso', size: 10 }] },
      ],
    });
    const a = sim.item('a').id;
    const b = sim.item('b').id;
    expect(sim.inspect()).toMatchObject({
      sessionsCreated: 0,
      dataGets: 0,
      dataBytes: 0,
      byItem: { [a]: { name: 'a', sessionsCreated: 0, dataGets: 0, dataBytes: 0 }, [b]: { name: 'b', sessionsCreated: 0, dataGets: 0, dataBytes: 0 } },
    });
    const c = new VapiCaller(sim.url, dialect);
    await c.login();
    const first = await c.preparedFile(a, 'a.iso');
    // The same client token answers the same session: no new one.
    expect(await c.createId(a, 'job-1')).toBe(await c.createId(a, 'job-1'));
    await c.download(first.uri);
    await c.download(first.uri, { range: 'bytes=0-99' });
    await fetch(first.uri, { method: 'HEAD', headers: { 'vmware-api-session-id': c.token! } });
    await c.download(`${sim.url}/cls/data/no-such-session/a.iso`);

    const seen = sim.inspect();
    expect(seen.sessionsCreated).toBe(2);
    expect(seen.calls['download_session.create']).toBe(3);
    // Two GETs with data, one of an unknown session; the HEAD is not counted.
    expect(seen.dataGets).toBe(3);
    expect(seen.dataBytes).toBe(1100);
    expect(seen.byItem[a]).toEqual({ name: 'a', sessionsCreated: 2, dataGets: 2, dataBytes: 1100 });
    expect(seen.byItem[b]).toEqual({ name: 'b', sessionsCreated: 0, dataGets: 0, dataBytes: 0 });
    // A deleted item that had sessions stays in the tally.
    sim.deleteItem(a);
    expect(sim.inspect().byItem[a]).toEqual({ name: 'a', sessionsCreated: 2, dataGets: 2, dataBytes: 1100 });
  });
});
