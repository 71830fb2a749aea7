import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/shared-tools.ts';

const MAIN = path.join(repoRoot, 'src/simulator/main.ts');

let seedDir: string;
const iso = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));

beforeAll(async () => {
  seedDir = await mkdtemp(path.join(tmpdir(), 'cldl-sim-main-'));
  await writeFile(path.join(seedDir, 'tiny.iso'), iso);
});

afterAll(async () => {
  await rm(seedDir, { recursive: true, force: true });
});

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Everything the child printed on stdout until `done` says it is enough. */
async function readUntil(child: ChildProcess, done: (out: string) => boolean): Promise<string> {
  let out = '';
  child.stdout!.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (done(out)) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited ${code} after printing: ${out}`)));
  });
}

describe('the simulator as a process (main.ts)', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('prints its URL, credentials and items, serves login → create → prepare → Range download, and stops on SIGTERM', async () => {
    child = run(['--seed', seedDir, '--port', '0', '--idle-timeout-s', '60']);
    const out = await readUntil(child, (o) => /tiny\.iso\s+5000 bytes/.test(o));
    const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    expect(out).toContain('credentials: user / pass');
    const itemId = /^\s+([0-9a-f-]{36})\s+tiny\s+\[iso\]$/m.exec(out)![1]!;

    const auth = `Basic ${Buffer.from('user:pass').toString('base64')}`;
    const token = (await (await fetch(`${url}/api/session`, { method: 'POST', headers: { authorization: auth } })).json()) as string;
    const h = { 'vmware-api-session-id': token, 'content-type': 'application/json' };
    const created = await fetch(`${url}/api/content/library/item/download-session`, { method: 'POST', headers: h, body: JSON.stringify({ library_item_id: itemId }) });
    expect(created.status).toBe(201);
    const session = (await created.json()) as string;
    const base = `${url}/api/content/library/item/download-session/${session}`;
    const prepared = await fetch(`${base}/file?action=prepare`, { method: 'POST', headers: h, body: JSON.stringify({ file_name: 'tiny.iso', endpoint_type: 'HTTPS' }) });
    expect(prepared.status).toBe(200);
    let info: { status: string; download_endpoint?: { uri: string } };
    for (;;) {
      info = (await (await fetch(`${base}/file?file_name=tiny.iso`, { headers: h })).json()) as typeof info;
      if (info.status === 'PREPARED') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const res = await fetch(info.download_endpoint!.uri, { headers: { ...h, range: 'bytes=1000-1999' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 1000-1999/5000');
    expect(Buffer.from(await res.arrayBuffer()).equals(iso.subarray(1000, 2000))).toBe(true);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('--json prints one JSON line with generated items', async () => {
    child = run(['--generate', '2x1M', '--json', '--tls']);
    const out = await readUntil(child, (o) => o.includes('\n'));
    const v = JSON.parse(out) as { url: string; thumbprint: string; items: Array<{ name: string; files: Array<{ name: string; size: number }> }> };
    expect(v.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(v.thumbprint).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(v.items.map((i) => i.files)).toEqual([[{ name: 'gen-1.bin', size: 1048576 }], [{ name: 'gen-2.bin', size: 1048576 }]]);
    child.kill('SIGINT');
    expect(((await once(child, 'exit')) as [number | null])[0]).toBe(0);
  });

  it.each([[['--port', 'abc']], [['--bogus']], [['--generate', 'lots']], [['--seed', '/no/such/dir']]])('exits 2 with usage on %o', async (args) => {
    child = run(args);
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => (err += c));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(err).toContain('usage: npm run simulator');
  });
});
