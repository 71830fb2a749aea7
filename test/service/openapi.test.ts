import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI } from '../../src/service/openapi.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { startDaemon, type RunningDaemon } from '../support/daemon.ts';

// The document is checked against OpenAPI 3.1 itself, and every answer the server gives below
// against the document: a route or a field that changes without it fails here.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(JSON.parse(JSON.stringify(OPENAPI)) as object, 'cldl');

type Operation = { responses: Record<string, { content?: Record<string, unknown> }> };

function expectDocumented(method: string, template: string, res: { status: number; type: string; body: unknown }): void {
  const op = (OPENAPI.paths as unknown as Record<string, Record<string, Operation>>)[template]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is documented`).toBeDefined();
  const answer = op!.responses[String(res.status)];
  expect(answer, `${method} ${template} documents status ${res.status}`).toBeDefined();
  const mediaType = res.type.split(';')[0]!.trim();
  expect(Object.keys(answer!.content ?? {}), `${method} ${template} ${res.status}: media type`).toContain(mediaType);
  if (mediaType !== 'application/json') return;
  const pointer = ['paths', template, method.toLowerCase(), 'responses', String(res.status), 'content', mediaType, 'schema'].map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
  const validate = ajv.getSchema(`cldl#/${pointer}`)!;
  const ok = validate(res.body);
  expect(validate.errors ?? [], `${method} ${template} ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`).toEqual([]);
  expect(ok).toBe(true);
}

let sim: Simulator;
let d: RunningDaemon;
let base: string;
beforeAll(async () => {
  sim = await startSimulator({ prepareDelayMs: 5, items: [{ name: 'small.iso', files: [{ name: 'small.iso', size: 100_000 }] }] });
  d = await startDaemon(sim);
  base = d.daemon.http.url;
});
afterAll(async () => {
  await d?.stop();
  await sim?.stop();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  return { status: res.status, type, body: type.startsWith('application/json') ? (JSON.parse(text) as unknown) : text };
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document, served as is', async () => {
    const result = await new Validator().validate(JSON.parse(JSON.stringify(OPENAPI)) as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    const served = await call('GET', '/openapi.json');
    expect(served.body).toEqual(JSON.parse(JSON.stringify(OPENAPI)));
  });

  it('fails an answer that does not match (so passing means something)', () => {
    expect(() => expectDocumented('GET', '/downloads/{id}', { status: 200, type: 'application/json', body: { id: 'x', state: 'done' } })).toThrow();
    expect(() => expectDocumented('GET', '/downloads/{id}', { status: 418, type: 'application/json', body: {} })).toThrow(/documents status 418/);
    expect(() => expectDocumented('GET', '/nowhere', { status: 200, type: 'application/json', body: {} })).toThrow(/is documented/);
  });

  it('describes every answer the server gives, successes and errors', async () => {
    expectDocumented('GET', '/livez', await call('GET', '/livez'));
    expectDocumented('GET', '/readyz', await call('GET', '/readyz'));
    expectDocumented('GET', '/metrics', await call('GET', '/metrics'));

    const itemId = sim.item('small.iso').id;
    const posted = await call('POST', '/downloads', { id: 'api-1', libraryItemId: itemId, destination: 'api' });
    expectDocumented('POST', '/downloads', posted);
    expectDocumented('POST', '/downloads', await call('POST', '/downloads', { libraryItemId: itemId, destination: '../x' }));
    expectDocumented('POST', '/downloads', await call('POST', '/downloads', 'x', { 'content-type': 'text/plain' }));
    await expect.poll(async () => ((await call('GET', '/downloads/api-1')).body as { state: string }).state, { timeout: 20_000 }).toBe('completed');
    expectDocumented('GET', '/downloads/{id}', await call('GET', '/downloads/api-1'));
    expectDocumented('GET', '/downloads/{id}', await call('GET', '/downloads/nope'));
    expectDocumented('GET', '/downloads/{id}', await call('GET', '/downloads/%E0%A4%A'));
    expectDocumented('GET', '/downloads', await call('GET', '/downloads'));
    expectDocumented('GET', '/downloads', await call('GET', '/downloads?state=completed&limit=5'));
    expectDocumented('GET', '/downloads', await call('GET', '/downloads?state=done'));
    expectDocumented('DELETE', '/downloads/{id}', await call('DELETE', '/downloads/api-1', undefined, { 'x-cldl-request': '1' }));
    expectDocumented('DELETE', '/downloads/{id}', await call('DELETE', '/downloads/api-1'));
    expectDocumented('DELETE', '/downloads/{id}', await call('DELETE', '/downloads/nope', undefined, { 'x-cldl-request': '1' }));

    const mirror = await call('POST', '/mirrors', { library: 'cldl-sim', destination: 'm' });
    expectDocumented('POST', '/mirrors', mirror);
    expectDocumented('POST', '/mirrors', await call('POST', '/mirrors', { library: 'cldl-sim' }));
    const mirrorId = (mirror.body as { id: string }).id;
    await expect.poll(async () => ((await call('GET', `/mirrors/${mirrorId}`)).body as { state: string }).state, { timeout: 20_000 }).toBe('completed');
    expectDocumented('GET', '/mirrors/{id}', await call('GET', `/mirrors/${mirrorId}`));
    expectDocumented('GET', '/mirrors/{id}', await call('GET', '/mirrors/nope'));
    expectDocumented('GET', '/mirrors', await call('GET', '/mirrors'));

    expectDocumented('GET', '/status', await call('GET', '/status'));
    const port = new URL(base).port;
    expectDocumented('GET', '/downloads', await call('GET', '/downloads', undefined, { host: `evil.example:${port}` }));

    // /events: the stream's first event carries a snapshot the Status schema describes.
    const events = await fetch(`${base}/events`);
    expectDocumented('GET', '/events', { status: events.status, type: events.headers.get('content-type') ?? '', body: undefined });
    const reader = events.body!.getReader();
    let text = '';
    while (!text.includes("\n\n")) text += new TextDecoder().decode((await reader.read()).value as Uint8Array);
    await reader.cancel();
    const data = /^data: (.*)$/m.exec(text)![1]!;
    expectDocumented('GET', '/status', { status: 200, type: 'application/json', body: JSON.parse(data) });
  });
});

describe('with a token', () => {
  it('answers 401 as documented', async () => {
    const t = await startDaemon(sim, { CLDL_HTTP_TOKEN: 'a-token-of-at-least-sixteen' });
    try {
      const res = await fetch(`${t.daemon.http.url}/downloads`);
      expectDocumented('GET', '/downloads', { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.json() });
    } finally {
      await t.stop();
    }
  });
});
