import { beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { basic, call, DIALECTS, errorType, until, VapiCaller } from './wire.ts';

const LOGIN = { rest: '/rest/com/vmware/cis/session', api: '/api/session' } as const;

describe.each(DIALECTS)('API sessions over /%s', (dialect) => {
  const { startBare } = useSimulator();
  let sim: Simulator;
  let c: VapiCaller;

  beforeEach(async () => {
    sim = await startBare({ users: { user: 'pass', admin: 'VMware1!' }, items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 100 }] }] });
    c = new VapiCaller(sim.url, dialect);
  });

  it('logs in with Basic auth: the token shape per dialect', async () => {
    const r = await c.login('admin', 'VMware1!');
    expect(r.status).toBe(dialect === 'rest' ? 200 : 201);
    expect(r.headers['content-type']).toBe('application/json');
    if (dialect === 'rest') expect(r.json).toEqual({ value: expect.stringMatching(/^[0-9a-f]{32}$/) as string });
    else expect(r.json).toEqual(expect.stringMatching(/^[0-9a-f]{32}$/));
    expect(sim.credentials).toEqual({ username: 'user', password: 'pass' });
  });

  it('refuses wrong passwords, unknown users and a login without Basic credentials with 401', async () => {
    for (const auth of [basic('user', 'wrong'), basic('nobody', 'pass'), 'Bearer abc', undefined]) {
      const r = await call(sim.url, 'POST', LOGIN[dialect], { headers: auth ? { authorization: auth } : {} });
      expect(r.status).toBe(401);
      expect(errorType(r)).toBe('UNAUTHENTICATED');
      if (dialect === 'rest') expect((r.json as { type: string }).type).toBe('com.vmware.vapi.std.errors.unauthenticated');
    }
  });

  it('reports session info and logs out', async () => {
    const before = new Date();
    await c.login('admin', 'VMware1!');
    const info = await c.sessionInfo();
    expect(info.status).toBe(200);
    const v = c.value(info) as { user: string; created_time: string; last_accessed_time: string };
    expect(v.user).toBe('admin');
    expect(Date.parse(v.created_time)).toBeGreaterThanOrEqual(before.getTime() - 1);
    expect(Date.parse(v.last_accessed_time)).toBeGreaterThanOrEqual(Date.parse(v.created_time));
    const out = await c.logout();
    expect(out.status).toBe(dialect === 'rest' ? 200 : 204);
    expect(out.text).toBe('');
    const after = await c.sessionInfo();
    expect(after.status).toBe(401);
    expect(errorType(after)).toBe('UNAUTHENTICATED');
  });

  it('answers 401 to every call without a valid session header, data URLs included', async () => {
    await c.login();
    const { session, uri } = await c.preparedFile(sim.item('disk').id, 'disk.iso');
    const valid = c.token;
    for (const token of [null, 'not-a-session']) {
      c.token = token;
      for (const r of [await c.libraries(), await c.list(), await c.get(session), await c.files(session)]) {
        expect(r.status).toBe(401);
        expect(errorType(r)).toBe('UNAUTHENTICATED');
      }
      const d = await c.download(uri);
      expect(d.status).toBe(401);
      expect(JSON.parse(d.body!.toString())).toMatchObject({ error_type: 'UNAUTHENTICATED' });
    }
    c.token = valid;
    expect((await c.download(uri)).status).toBe(200);
  });

  it('invalidateApiSessions() ends every session now', async () => {
    await c.login();
    const other = new VapiCaller(sim.url, dialect);
    await other.login('admin', 'VMware1!');
    expect(sim.inspect().apiSessions).toBe(2);
    sim.invalidateApiSessions();
    expect((await c.libraries()).status).toBe(401);
    expect((await other.libraries()).status).toBe(401);
    await c.login();
    expect((await c.libraries()).status).toBe(200);
  });

  it('a periodic invalidation fault keeps ending sessions until removed', async () => {
    await c.login();
    const fault = sim.faults.add({ kind: 'invalidate-api-sessions', every: 50 });
    await until(async () => (await c.libraries()).status === 401, 2000, 'the periodic invalidation');
    await c.login();
    await until(async () => (await c.libraries()).status === 401, 2000, 'a second invalidation');
    expect(fault.hits).toBeGreaterThanOrEqual(2);
    fault.remove();
    await c.login();
    const hits = fault.hits;
    await new Promise((r) => setTimeout(r, 120));
    expect((await c.libraries()).status).toBe(200);
    expect(fault.hits).toBe(hits);
  });
});

describe('API session idle timeout', () => {
  const { startBare } = useSimulator();

  it.each(DIALECTS)('expires an API session unused for the timeout; use postpones it (/%s)', async (dialect) => {
    const sim = await startBare({ apiSessionIdleTimeoutMs: 800 });
    const idle = new VapiCaller(sim.url, dialect);
    const busy = new VapiCaller(sim.url, dialect);
    await idle.login();
    await busy.login();
    const start = Date.now();
    await until(async () => {
      expect((await busy.libraries()).status).toBe(200);
      return Date.now() - start > 1100;
    }, 2000, 'time to pass with the busy session in use');
    const r = await idle.libraries();
    expect(r.status).toBe(401);
    expect(errorType(r)).toBe('UNAUTHENTICATED');
    expect((await busy.libraries()).status).toBe(200);
  });
});
