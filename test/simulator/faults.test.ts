import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { DIALECTS, errorText, errorType, type FileInfo, until } from './wire.ts';

const ONE_MIB = 1024 * 1024;

const { start } = useSimulator({ checksumsAtStart: false });

const disk = (size: number): SimulatorOptions['items'] => [{ name: 'disk', files: [{ name: 'disk.iso', size }, { name: 'other.iso', size }] }];

describe.each(DIALECTS)('error faults over /%s', (dialect) => {
  it('answers an operation with the error the first `times` calls, then normally', async () => {
    const { sim: s, caller: c } = await start({ items: disk(10) }, dialect);
    const fault = s.faults.add({ kind: 'error', op: 'download_session.create', error: 'service_unavailable', times: 2 });
    const id = s.item('disk').id;
    for (let i = 0; i < 2; i++) {
      const r = await c.create(id);
      expect(r.status).toBe(503);
      expect(errorType(r)).toBe('SERVICE_UNAVAILABLE');
      expect(r.headers['content-type']).toBe('application/json');
    }
    expect((await c.create(id)).status).toBe(dialect === 'rest' ? 200 : 201);
    expect(fault.hits).toBe(2);
    // Faults fire after the call is counted and before anything happens.
    expect(s.inspect().calls['download_session.create']).toBe(3);
    expect(s.inspect().sessions).toHaveLength(1);
  });

  it('uses each dialect’s status for the error type, or the given status', async () => {
    const { sim: s, caller: c } = await start({ items: disk(10) }, dialect);
    const expected: Array<[Parameters<Simulator['faults']['add']>[0], number, string]> = [
      [{ kind: 'error', op: 'library.list', error: 'resource_busy', times: 1 }, dialect === 'rest' ? 400 : 500, 'RESOURCE_BUSY'],
      [{ kind: 'error', op: 'library.list', error: 'concurrent_change', times: 1 }, dialect === 'rest' ? 400 : 409, 'CONCURRENT_CHANGE'],
      [{ kind: 'error', op: 'library.list', error: 'unauthorized', times: 1 }, 403, 'UNAUTHORIZED'],
      [{ kind: 'error', op: 'library.list', error: 'timed_out', times: 1 }, 504, 'TIMED_OUT'],
      [{ kind: 'error', op: '*', error: 'error', status: 502, message: 'bad gateway', times: 1 }, 502, 'ERROR'],
    ];
    for (const [rule, status, type] of expected) {
      const f = s.faults.add(rule);
      const r = await c.libraries();
      expect(r.status, type).toBe(status);
      expect(errorType(r), type).toBe(type);
      if (dialect === 'rest') expect((r.json as { type: string }).type).toBe(`com.vmware.vapi.std.errors.${type.toLowerCase()}`);
      f.remove();
    }
    expect(errorText(await (async () => {
      s.faults.add({ kind: 'error', op: ['item.get', 'library.list'], message: 'maintenance' });
      return c.libraries();
    })())).toBe('maintenance');
    s.faults.clear();
    expect((await c.libraries()).status).toBe(200);
  });

  it('fires with a probability, repeatably for a given seed', async () => {
    const pattern = async (seed: number): Promise<number[]> => {
      const { sim: s, caller: c } = await start({ seed }, dialect);
      const f = s.faults.add({ kind: 'error', op: 'library.list', probability: 0.5 });
      const statuses: number[] = [];
      for (let i = 0; i < 24; i++) statuses.push((await c.libraries()).status);
      expect(f.hits).toBe(statuses.filter((x) => x === 503).length);
      await s.stop();
      return statuses;
    };
    const a = await pattern(7);
    expect(await pattern(7)).toEqual(a);
    expect(a.filter((x) => x === 503).length).toBeGreaterThan(3);
    expect(a.filter((x) => x === 200).length).toBeGreaterThan(3);
    expect(await pattern(8)).not.toEqual(a);
  });
});

describe('data faults', () => {
  it('resets the connection after N bytes, once, for the named file only', async () => {
    const { sim: s, caller: c } = await start({ items: disk(3 * ONE_MIB) });
    const id = s.item('disk').id;
    const session = await c.createId(id);
    await c.prepare(session, 'disk.iso');
    await c.prepare(session, 'other.iso');
    const uri = (await c.waitPrepared(session, 'disk.iso')).download_endpoint!.uri;
    const other = (await c.waitPrepared(session, 'other.iso')).download_endpoint!.uri;
    const fault = s.faults.add({ kind: 'reset', afterBytes: ONE_MIB + 7, file: 'disk.iso', times: 1 });
    expect((await c.download(other)).bytes).toBe(3 * ONE_MIB);
    const cut = await c.download(uri);
    expect(cut.status).toBe(200);
    expect(cut.error).toBeDefined();
    expect(cut.bytes).toBe(ONE_MIB + 7);
    expect(fault.hits).toBe(1);
    const whole = await c.download(uri);
    expect(whole.error).toBeUndefined();
    expect(whole.bytes).toBe(3 * ONE_MIB);
    const reqs = s.inspect().dataRequests.filter((r) => r.file === 'disk.iso');
    expect(reqs.map((r) => [r.bytesSent, r.complete])).toEqual([
      [ONE_MIB + 7, false],
      [3 * ONE_MIB, true],
    ]);
  });

  it('can reset with a TCP RST', async () => {
    const { sim: s, caller: c } = await start({ items: disk(2 * ONE_MIB) });
    const { uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    s.faults.add({ kind: 'reset', afterBytes: 1000, rst: true, times: 1 });
    const cut = await c.download(uri);
    expect(cut.error).toBeDefined();
    expect(cut.bytes).toBeLessThanOrEqual(1000);
  });

  it('stalls after N bytes for T ms, then finishes', async () => {
    const { sim: s, caller: c } = await start({ items: disk(2 * ONE_MIB) });
    const { uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    s.faults.add({ kind: 'stall', afterBytes: 4096, ms: 400, times: 1 });
    const t0 = performance.now();
    const pending = c.download(uri);
    // Mid-stall the server has sent exactly the bytes before the stall point.
    await until(() => s.inspect().dataRequests[0]?.bytesSent === 4096, 2000, 'the stall point');
    expect(s.inspect().dataRequests[0]!.ended).toBe(false);
    const d = await pending;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    expect(d.bytes).toBe(2 * ONE_MIB);
    expect(d.error).toBeUndefined();
  });

  it('caps bandwidth for all data responses until removed', async () => {
    const { sim: s, caller: c } = await start({ items: disk(ONE_MIB) });
    const { uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    const cap = s.faults.add({ kind: 'bandwidth', bytesPerSecond: 2 * ONE_MIB });
    let t0 = performance.now();
    await Promise.all([c.download(uri), c.download(uri)]);
    // 2 MiB at 2 MiB/s, less the first piece sent at once.
    expect(performance.now() - t0).toBeGreaterThan(850);
    cap.remove();
    t0 = performance.now();
    await c.download(uri);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('expires a download session after N of its data bytes, cutting the transfer', async () => {
    const { sim: s, caller: c } = await start({ items: disk(2 * ONE_MIB) });
    const { session, uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    s.faults.add({ kind: 'expire-session', afterBytes: ONE_MIB, session });
    const cut = await c.download(uri);
    expect(cut.error).toBeDefined();
    expect(cut.bytes).toBe(ONE_MIB);
    expect((await c.get(session)).status).toBe(404);
    expect((await c.download(uri)).status).toBe(404);
    expect(s.inspect().sessions[0]!.gone).toBe('expired');
  });

  it('cancels a download session after N data bytes across requests', async () => {
    const { sim: s, caller: c } = await start({ items: disk(ONE_MIB) });
    const { session, uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    const f = s.faults.add({ kind: 'cancel-session', afterBytes: ONE_MIB + 100 });
    expect((await c.download(uri)).bytes).toBe(ONE_MIB);
    const cut = await c.download(uri);
    expect(cut.bytes).toBe(100);
    expect(cut.error).toBeDefined();
    expect(f.hits).toBe(1);
    expect((c.value(await c.get(session)) as { state: string }).state).toBe('CANCELED');
    const refused = await c.download(uri);
    expect(refused.status).toBe(400);
  });

  it('cancelSession() and expireSession() mid-transfer cut it', async () => {
    const { sim: s, caller: c } = await start({ items: disk(4 * ONE_MIB) });
    const { session, uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    s.faults.add({ kind: 'stall', afterBytes: 1000, ms: 5000 });
    const pending = c.download(uri);
    await until(() => s.inspect().dataRequests[0]?.bytesSent === 1000, 2000, 'the stall');
    s.cancelSession(session);
    const cut = await pending;
    expect(cut.error).toBeDefined();
    expect(cut.bytes).toBe(1000);
  });

  it('flips a byte at an offset; checksum_info still reports the truth; times lets a retry succeed', async () => {
    const { sim: s, caller: c } = await start({ items: disk(2 * ONE_MIB) });
    const itemId = s.item('disk').id;
    const { session, uri } = await c.preparedFile(itemId, 'disk.iso');
    const offset = ONE_MIB + 12_345;
    s.faults.add({ kind: 'corrupt', offset, times: 1 });
    const bad = await c.download(uri);
    const truth = await s.fileChecksum(itemId, 'disk.iso');
    expect(bad.sha1).not.toBe(truth);
    const info = c.value(await c.file(session, 'disk.iso')) as FileInfo;
    expect(info.checksum_info!.checksum).toBe(truth);
    const good = await c.download(uri);
    expect(good.sha1).toBe(truth);
    expect(bad.body!.length).toBe(good.body!.length);
    const diff = [...bad.body!.keys()].filter((i) => bad.body![i] !== good.body![i]);
    expect(diff).toEqual([offset]);
    expect(bad.body![offset]).toBe(good.body![offset]! ^ 0xff);
  });

  it('a `data` error fault answers the download URL with the error', async () => {
    const { sim: s, caller: c } = await start({ items: disk(100) });
    const { uri } = await c.preparedFile(s.item('disk').id, 'disk.iso');
    s.faults.add({ kind: 'error', op: 'data', error: 'service_unavailable', times: 1 });
    const d = await c.download(uri);
    expect(d.status).toBe(503);
    expect(JSON.parse(d.body!.toString())).toMatchObject({ error_type: 'SERVICE_UNAVAILABLE' });
    expect((await c.download(uri)).status).toBe(200);
  });
});

describe('prepare faults', () => {
  it('a prepare that never finishes stays PREPARING', async () => {
    const { sim: s, caller: c } = await start({ prepareDelayMs: 10, items: disk(10) });
    s.faults.add({ kind: 'prepare-never', file: 'disk.iso' });
    const session = await c.createId(s.item('disk').id);
    await c.prepare(session, 'disk.iso');
    await c.prepare(session, 'other.iso');
    expect((await c.waitPrepared(session, 'other.iso')).status).toBe('PREPARED');
    // Ten times the time a prepare takes.
    await new Promise((r) => setTimeout(r, 200));
    expect((c.value(await c.file(session, 'disk.iso')) as FileInfo).status).toBe('PREPARING');
  });

  it('a prepare that ends in ERROR with a message; with times, the next prepare succeeds', async () => {
    const { sim: s, caller: c } = await start({ items: disk(10) });
    const f = s.faults.add({ kind: 'prepare-error', message: 'datastore unreachable', times: 1 });
    const session = await c.createId(s.item('disk').id);
    await c.prepare(session, 'disk.iso');
    const failed = await c.waitPrepared(session, 'disk.iso');
    expect(failed.status).toBe('ERROR');
    expect(failed.error_message).toMatchObject({ default_message: 'datastore unreachable' });
    expect(f.hits).toBe(1);
    await c.prepare(session, 'disk.iso');
    expect((await c.waitPrepared(session, 'disk.iso')).status).toBe('PREPARED');
    expect(s.inspect().sessions[0]!.files[0]).toMatchObject({ name: 'disk.iso', status: 'PREPARED', errorMessage: null });
  });

  it('rejects malformed rules', async () => {
    const { sim: s } = await start({});
    expect(() => s.faults.add({ kind: 'error', op: 'no.such.op' as 'data' })).toThrow(/unknown operation/);
    expect(() => s.faults.add({ kind: 'bandwidth', bytesPerSecond: 0 })).toThrow(/positive/);
    expect(() => s.faults.add({ kind: 'error', op: '*', probability: 2 })).toThrow(/probability/);
  });
});
