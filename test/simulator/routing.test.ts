import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { call, errorType, VapiCaller } from './wire.ts';

describe('routing and request handling', () => {
  let sim: Simulator;
  let token: string;

  beforeAll(async () => {
    sim = await startSimulator({ items: [{ name: 'disk', files: [{ name: 'disk.iso', size: 10 }] }] });
    const c = new VapiCaller(sim.url, 'api');
    await c.login();
    token = c.token!;
  });

  afterAll(async () => {
    await sim.stop();
  });

  it.each([
    ['GET', '/', 'OPERATION_NOT_FOUND', false],
    ['GET', '/ui/', 'OPERATION_NOT_FOUND', false],
    ['GET', '/api/vcenter/vm', 'OPERATION_NOT_FOUND', false],
    ['PUT', '/api/content/library', 'OPERATION_NOT_FOUND', false],
    ['POST', '/api/content/library/item/download-session/x?action=explode', 'OPERATION_NOT_FOUND', false],
    ['GET', '/rest/com/vmware/content/nope', 'OPERATION_NOT_FOUND', true],
    ['POST', '/rest/com/vmware/content/library/item/download-session/id:x?~action=explode', 'OPERATION_NOT_FOUND', true],
  ] as const)('%s %s answers a vAPI 404 error as JSON, never plain text', async (method, path, type, rest) => {
    const r = await call(sim.url, method, path, { token });
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe('application/json');
    expect(errorType(r)).toBe(type);
    if (rest) expect((r.json as { type: string }).type).toBe('com.vmware.vapi.std.errors.operation_not_found');
  });

  it('answers invalid JSON and mistyped bodies with invalid_argument in each dialect', async () => {
    const api = await call(sim.url, 'POST', '/api/content/library/item/download-session', { token, headers: { 'content-type': 'application/json' } });
    expect(api.status).toBe(400);
    expect(errorType(api)).toBe('INVALID_ARGUMENT');
    const mistyped = await call(sim.url, 'POST', '/api/content/library/item/download-session', { token, body: { library_item_id: 42 } });
    expect(mistyped.status).toBe(400);
    const rest = await call(sim.url, 'POST', '/rest/com/vmware/content/library/item/download-session', { token, body: { library_item_id: sim.item('disk').id } });
    expect(rest.status).toBe(400);
    expect((rest.json as { type: string }).type).toBe('com.vmware.vapi.std.errors.invalid_argument');
    const res = await request(`${sim.url}/api/content/library/item/download-session`, {
      method: 'POST',
      headers: { 'vmware-api-session-id': token, 'content-type': 'application/json' },
      body: '{"library_item_id": ',
    });
    expect(res.statusCode).toBe(400);
    expect(((await res.body.json()) as { error_type: string }).error_type).toBe('INVALID_ARGUMENT');
  });

  it('ignores fields the spec does not define, as vCenter does', async () => {
    const r = await call(sim.url, 'POST', '/api/content/library/item/download-session', { token, body: { library_item_id: sim.item('disk').id, bogus: 1 } });
    expect(r.status).toBe(201);
  });

  it('takes the /api client token from the Client-Token header too (vSphere 9)', async () => {
    const body = { library_item_id: sim.item('disk').id };
    const a = await call(sim.url, 'POST', '/api/content/library/item/download-session', { token, body, headers: { 'client-token': 'hdr-1' } });
    const b = await call(sim.url, 'POST', '/api/content/library/item/download-session?client_token=hdr-1', { token, body });
    expect(a.status).toBe(201);
    expect(b.json).toBe(a.json);
  });
});
