import { beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, SimulatorLookupError } from '../../src/simulator/index.ts';
import { useSimulator } from '../support/use-simulator.ts';
import { call, DIALECTS, errorText, errorType, until, VapiCaller } from './wire.ts';

interface SessionModel {
  id: string;
  library_item_id: string;
  library_item_content_version: string;
  client_progress: number;
  state: string;
  expiration_time: string;
  error_message?: { id: string; default_message: string; args: string[] };
}

describe.each(DIALECTS)('download sessions over /%s', (dialect) => {
  const simulator = useSimulator();
  let sim: Simulator;
  let c: VapiCaller;
  let itemId: string;

  beforeEach(async () => {
    ({ sim, caller: c } = await simulator.start(
      {
        users: { user: 'pass', other: 'secret' },
        items: [
          { name: 'disk', files: [{ name: 'disk.iso', size: 4096 }] },
          { name: 'other', files: [{ name: 'other.iso', size: 10 }] },
        ],
        checksumsAtStart: false,
      },
      dialect,
    ));
    itemId = sim.item('disk').id;
  });

  it('creates an ACTIVE session with the spec model and the item content version', async () => {
    const r = await c.create(itemId);
    expect(r.status).toBe(dialect === 'rest' ? 200 : 201);
    const id = c.value(r) as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const before = Date.now();
    const g = await c.get(id);
    expect(g.status).toBe(200);
    const s = c.value(g) as SessionModel;
    expect(s).toEqual({
      id,
      library_item_id: itemId,
      library_item_content_version: '1',
      client_progress: 0,
      state: 'ACTIVE',
      expiration_time: expect.any(String) as string,
    });
    // Default idle timeout: five minutes from the last activity.
    const expires = Date.parse(s.expiration_time);
    expect(expires - before).toBeGreaterThan(299_000);
    expect(expires - before).toBeLessThanOrEqual(300_500);
    const files = c.value(await c.files(id));
    expect(files).toEqual([{ name: 'disk.iso', size: 4096, bytes_transferred: 0, status: 'UNPREPARED' }]);
  });

  it('answers not_found for an unknown item and an unknown session', async () => {
    const r = await c.create('no-such-item');
    expect(r.status).toBe(404);
    expect(errorType(r)).toBe('NOT_FOUND');
    const g = await c.get('no-such-session');
    expect(g.status).toBe(404);
    expect(errorType(g)).toBe('NOT_FOUND');
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('lists by item and only the caller’s own sessions', async () => {
    const a = await c.createId(itemId);
    const b = await c.createId(sim.item('other').id);
    const other = new VapiCaller(sim.url, dialect);
    await other.login('other', 'secret');
    const theirs = await other.createId(itemId);
    expect((c.value(await c.list()) as string[]).sort()).toEqual([a, b].sort());
    expect(c.value(await c.list(itemId))).toEqual([a]);
    expect(other.value(await other.list())).toEqual([theirs]);
    // Another user's session is invisible, not merely unlisted.
    expect((await other.get(a)).status).toBe(404);
    expect((await c.list('no-such-item')).status).toBe(404);
  });

  it('makes create idempotent per user and client token', async () => {
    const first = await c.createId(itemId, 'token-1');
    expect(await c.createId(itemId, 'token-1')).toBe(first);
    expect(await c.createId(itemId, 'token-2')).not.toBe(first);
    const other = new VapiCaller(sim.url, dialect);
    await other.login('other', 'secret');
    expect(await other.createId(itemId, 'token-1')).not.toBe(first);
    // Once the session is gone the token makes a new one.
    expect((await c.delete(first)).status).toBe(dialect === 'rest' ? 200 : 204);
    expect(await c.createId(itemId, 'token-1')).not.toBe(first);
    expect(sim.inspect().sessions.filter((s) => s.clientToken === 'token-1')).toHaveLength(3);
  });

  it('keeps alive with rising progress and refuses equal, lower or out-of-range progress', async () => {
    const id = await c.createId(itemId);
    const ok = dialect === 'rest' ? 200 : 204;
    expect((await c.keepAlive(id)).status).toBe(ok);
    // "the new progress should be greater than the current progress", 0 at creation.
    const zero = await c.keepAlive(id, 0);
    expect(zero.status).toBe(400);
    expect(errorText(zero)).toMatch(/progress 0 is not greater than the current progress 0/);
    expect((await c.keepAlive(id, 10)).status).toBe(ok);
    const same = await c.keepAlive(id, 10);
    expect(same.status).toBe(400);
    expect(errorType(same)).toBe('INVALID_ARGUMENT');
    expect((await c.keepAlive(id)).status).toBe(ok);
    expect((await c.keepAlive(id, 60)).status).toBe(ok);
    const lower = await c.keepAlive(id, 59);
    expect(lower.status).toBe(400);
    expect(errorType(lower)).toBe('INVALID_ARGUMENT');
    expect(errorText(lower)).toMatch(/progress 59 is not greater than the current progress 60/);
    for (const bad of [-1, 101]) {
      const r = await c.keepAlive(id, bad);
      expect(r.status).toBe(400);
      expect(errorType(r)).toBe('INVALID_ARGUMENT');
    }
    expect((await c.keepAlive(id, 100)).status).toBe(ok);
    expect((c.value(await c.get(id)) as SessionModel).client_progress).toBe(100);
    const seen = sim.inspect().sessions[0]!;
    expect(seen.keepAlives.map((k) => k.progress)).toEqual([0, 10, 10, 60, 100]);
    expect(seen.progress).toBe(100);
  });

  it('cancels: CANCELED, then keep-alive, cancel, fail and prepare are not allowed, but get and delete are', async () => {
    const id = await c.createId(itemId);
    expect((await c.cancel(id)).status).toBe(dialect === 'rest' ? 200 : 204);
    expect((c.value(await c.get(id)) as SessionModel).state).toBe('CANCELED');
    for (const r of [await c.keepAlive(id, 5), await c.cancel(id), await c.fail(id, 'x'), await c.prepare(id, 'disk.iso')]) {
      expect(r.status).toBe(400);
      expect(errorType(r)).toBe('NOT_ALLOWED_IN_CURRENT_STATE');
    }
    expect((await c.delete(id)).status).toBe(dialect === 'rest' ? 200 : 204);
    expect((await c.get(id)).status).toBe(404);
    expect((await c.delete(id)).status).toBe(404);
    expect(sim.inspect().sessions[0]).toMatchObject({ id, state: 'CANCELED', gone: 'deleted' });
  });

  it('fails: ERROR with the client message as error_message, kept until deleted', async () => {
    const id = await c.createId(itemId);
    expect((await c.fail(id, 'disk.iso: checksum mismatch')).status).toBe(dialect === 'rest' ? 200 : 204);
    const s = c.value(await c.get(id)) as SessionModel;
    expect(s.state).toBe('ERROR');
    expect(s.error_message).toEqual({ id: expect.any(String) as string, default_message: 'disk.iso: checksum mismatch', args: [] });
    expect((await c.fail(id, 'again')).status).toBe(400);
    expect(c.value(await c.list())).toEqual([id]);
    expect(sim.inspect().sessions[0]!.errorMessage).toBe('disk.iso: checksum mismatch');
  });

  it('refuses a fail without its required message', async () => {
    const id = await c.createId(itemId);
    const path = dialect === 'rest' ? `/rest/com/vmware/content/library/item/download-session/id:${id}?~action=fail` : `/api/content/library/item/download-session/${id}?action=fail`;
    const r = await call(sim.url, 'POST', path, { token: c.token, body: {} });
    expect(r.status).toBe(400);
    expect(errorType(r)).toBe('INVALID_ARGUMENT');
    expect((c.value(await c.get(id)) as SessionModel).state).toBe('ACTIVE');
  });

  it('server-side cancelSession() and expireSession()', async () => {
    const a = await c.createId(itemId);
    const b = await c.createId(itemId);
    sim.cancelSession(a);
    sim.expireSession(b);
    expect((c.value(await c.get(a)) as SessionModel).state).toBe('CANCELED');
    expect((await c.get(b)).status).toBe(404);
    expect(sim.inspect().sessions.map((s) => s.gone)).toEqual([null, 'expired']);
    expect(() => sim.expireSession('no-such-session')).toThrow(SimulatorLookupError);
    expect(() => sim.cancelSession('no-such-session')).toThrow(SimulatorLookupError);
  });
});

describe('download session idle expiry', () => {
  const { start } = useSimulator();

  it.each(DIALECTS)('expires a session idle for the timeout, and activity postpones it (/%s)', async (dialect) => {
    const { sim, caller: c } = await start({ sessionIdleTimeoutMs: 1000, items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 10 }] }], checksumsAtStart: false }, dialect);
    const idle = await c.createId(sim.item('disk').id);
    const busy = await c.createId(sim.item('disk').id);
    // get() is activity too: the session expires a timeout after it.
    const before = Date.now();
    const s = c.value(await c.get(idle)) as SessionModel;
    const after = Date.now();
    expect(Date.parse(s.expiration_time)).toBeGreaterThanOrEqual(before + 1000);
    expect(Date.parse(s.expiration_time)).toBeLessThanOrEqual(after + 1000);
    // Keep one alive while the other idles; list() does not count as activity on a session.
    const gone = await until(async () => {
      await c.keepAlive(busy);
      const ids = c.value(await c.list()) as string[];
      return !ids.includes(idle) && ids;
    }, 3000, 'the idle session to expire');
    expect(Date.now() - before).toBeGreaterThanOrEqual(1000);
    expect(gone).toEqual([busy]);
    const g = await c.get(idle);
    expect(g.status).toBe(404);
    expect(errorType(g)).toBe('NOT_FOUND');
    expect((await c.get(busy)).status).toBe(200);
    const seen = sim.inspect();
    expect(seen.sessions.find((x) => x.id === idle)!.gone).toBe('expired');
    expect(seen.liveSessions).toBe(1);
  });
});
