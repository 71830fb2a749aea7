import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/shared-tools.ts';

// Everything that could keep a process alive, busy at once: a 4 GiB checksum in the worker thread,
// a periodic fault, a prepare that never ends, a prepare timer mid-way, a stalled download, TLS.
// After stop() the process must exit by itself, with no process.exit().
const SCRIPT = (entry: string, undici: string): string => `
import { Agent, request } from ${JSON.stringify(undici)};
import { startSimulator } from ${JSON.stringify(entry)};
const sim = await startSimulator({ tls: true, prepareDelayMs: 30, items: [{ name: 'big', files: [{ name: 'big.bin', size: 4 * 1024 ** 3 }, { name: 'b', size: 10 }] }] });
sim.faults.add({ kind: 'invalidate-api-sessions', every: 60_000 });
sim.faults.add({ kind: 'stall', afterBytes: 10, ms: 60_000 });
sim.faults.add({ kind: 'prepare-never', file: 'b' });
const dispatcher = new Agent({ connect: { ca: sim.tls.certPem } });
const h = { 'content-type': 'application/json' };
const token = (await (await request(sim.url + '/api/session', { method: 'POST', dispatcher, headers: { authorization: 'Basic ' + Buffer.from('user:pass').toString('base64') } })).body.json());
h['vmware-api-session-id'] = token;
const sid = await (await request(sim.url + '/api/content/library/item/download-session', { method: 'POST', dispatcher, headers: h, body: JSON.stringify({ library_item_id: sim.item('big').id }) })).body.json();
const base = sim.url + '/api/content/library/item/download-session/' + sid + '/file';
for (const f of ['big.bin', 'b']) await (await request(base + '?action=prepare', { method: 'POST', dispatcher, headers: h, body: JSON.stringify({ file_name: f }) })).body.text();
let info;
do info = await (await request(base + '?file_name=big.bin', { dispatcher, headers: h })).body.json(); while (info.status !== 'PREPARED');
const res = await request(info.download_endpoint.uri, { dispatcher, headers: h });
res.body.on('error', () => {});
res.body.resume();
while (sim.inspect().dataRequests[0]?.bytesSent !== 10) await new Promise((r) => setTimeout(r, 5));
const t0 = Date.now();
await sim.stop();
await dispatcher.close().catch(() => {});
console.log('stopped in', Date.now() - t0, 'ms');
`;

describe('stop()', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cldl-sim-life-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('closes connections, timers and the worker thread, so the process exits by itself', async () => {
    const script = path.join(dir, 'lifecycle.mjs');
    const undici = pathToFileURL(createRequire(import.meta.url).resolve('undici')).href;
    await writeFile(script, SCRIPT(pathToFileURL(path.join(repoRoot, 'src/simulator/index.ts')).href, undici));
    const t0 = Date.now();
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(out).toMatch(/^stopped in \d+ ms\n$/);
    expect(code).toBe(0);
    // Well before any of the 60 s timers or the 4 GiB hash could have finished.
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});
