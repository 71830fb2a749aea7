import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keysFor } from '../../src/orchestrator/index.ts';
import { runCli } from '../support/cli.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { REDIS_URL } from '../support/redis.ts';
import { startOwnRedis } from '../support/redis-server.ts';

const COMMANDS = ['worker', 'enqueue', 'status', 'cancel', 'list', 'mirror', 'sessions', 'simulator', 'demo'];

describe('cldl usage', () => {
  it('lists its commands with --help', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    for (const c of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it.each(COMMANDS.filter((c) => c !== 'simulator'))('explains %s with --help', async (command) => {
    const run = await runCli([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: cldl ${command}`));
  });

  it('hands simulator --help to the simulator', async () => {
    const run = await runCli(['simulator', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: cldl simulator \[options\]/);
  });

  it.each([
    [['bogus'], /unknown command 'bogus'/],
    [['enqueue', '--dest', 'x'], /required option '--item <id>' not specified/],
    [['status'], /missing required argument 'id'/],
    [['list', '--limit', '0'], /--limit <n>' argument '0' is invalid. expected a whole number from 1 to 1000/],
    [['list', '--state', 'done'], /Allowed choices are queued, syncing/],
    [['enqueue', '--item', 'i', '--dest', 'x', '--frobnicate'], /unknown option '--frobnicate'/],
    [['mirror', '--dest', 'x'], /required option '--library <name-or-id>' not specified/],
    [['mirror', '--library', 'l', '--dest', 'x', '--max-rate', 'fast'], /--max-rate <rate>' argument 'fast' is invalid. expected bytes per second, e.g. 800000, 50M or 1.5G/],
  ])('exits 2 with a short usage for %j', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('(add --help for usage)');
  });

  it('exits 78 on a bad configuration, naming the key and its source, without a stack trace', async () => {
    const run = await runCli(['worker'], { VCENTER_URL: 'vc.lab', VCENTER_USERNAME: 'u', VCENTER_PASSWORD: 'p' });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('vcenters.default.url (from env VCENTER_URL): "vc.lab"; expected a URL such as https://vcenter.example.com');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('refuses to run a worker without a vCenter', async () => {
    const run = await runCli(['worker']);
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/vcenters: none configured; set VCENTER_URL/);
  });

  it('says so in one line when Redis does not answer', async () => {
    const run = await runCli(['status', 'x'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^cldl: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(.*\); is it running\?/);
  });

  it('talks to the configured Redis Cluster, not to redis.url', async () => {
    const cluster = await startOwnRedis({ cluster: true });
    const dir = await mkdtemp(path.join(tmpdir(), 'cldl-cluster-'));
    const node = new Redis(cluster.url);
    try {
      const prefix = `{cldl-test-${randomUUID()}}`;
      const configFile = path.join(dir, 'cluster.json');
      await writeFile(configFile, JSON.stringify({ redis: { clusterNodes: [cluster.url.replace('redis://', '')], prefix } }));
      const run = await runCli(['enqueue', '--item', 'item-1', '--dest', 'd', '--id', 'on-the-cluster'], { CLDL_CONFIG: configFile });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(await node.exists(keysFor(prefix).download('on-the-cluster'))).toBe(1);
      expect((await runCli(['status', 'on-the-cluster', '--json'], { CLDL_CONFIG: configFile })).code).toBe(0);
    } finally {
      node.disconnect();
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cldl with a worker running', () => {
  let h: Harness;
  let env: Record<string, string>;
  beforeAll(async () => {
    h = await startHarness({
      simulator: {
        items: [
          { name: 'photon.iso', files: [{ name: 'photon.iso', size: 3 * 1024 * 1024 }] },
          { name: 'evil', files: [{ name: '../../etc/passwd', size: 10 }] },
        ],
      },
      jobs: { attempts: 1 },
    });
    env = { REDIS_URL, CLDL_REDIS_PREFIX: h.prefix, CLDL_DOWNLOAD_ROOT: h.root };
  });
  afterAll(() => h.stop());

  it('enqueues, waits with progress, and prints the verified files', async () => {
    const run = await runCli(['enqueue', '--item', h.sim.item('photon.iso').id, '--dest', 'isos', '--id', 'cli-1', '--wait'], env);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('cli-1');
    expect(run.stderr).toMatch(/completed: 3\.0 MiB in [\d.]+ s/);
    expect(run.stderr).toMatch(/photon\.iso {2}3\.0 MiB {2}SHA1 [0-9a-f]{40} {2}verified/);
    expect(await h.sha256('isos/photon.iso')).toBe(await h.expectedSha256('photon.iso', 'photon.iso'));
  });

  it('shows a download as text and as JSON, and lists it', async () => {
    const text = await runCli(['status', 'cli-1'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^state +completed$/m);
    const json = await runCli(['status', 'cli-1', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'cli-1', state: 'completed', progress: { percent: 100 } });
    const list = await runCli(['list', '--state', 'completed'], env);
    expect(list.stdout).toMatch(/^cli-1 +completed +100%/m);
  });

  it('exits 1 with the reason when the download fails', async () => {
    const run = await runCli(['enqueue', '--item', h.sim.item('evil').id, '--dest', 'evil', '--wait'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cldl: download .* failed: refusing file name "..\/..\/etc\/passwd" from the server: it contains a path separator/);
  });

  it('mirrors a library with --wait, exits 0 when every item is current, and again moves nothing', async () => {
    const run = await runCli(['mirror', '--library', 'cldl-sim', '--dest', 'dr', '--items', 'photon*', '--wait'], env);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^mirror-[0-9a-f-]{36}$/);
    expect(run.stderr).toMatch(/completed: 1 downloaded, 0 already current, 0 failed, of 1 items/);
    expect(await h.sha256('dr/photon.iso/photon.iso')).toBe(await h.expectedSha256('photon.iso', 'photon.iso'));
    const again = await runCli(['mirror', '--library', 'cldl-sim', '--dest', 'dr', '--items', 'photon*', '--wait'], env);
    expect(again.stderr).toMatch(/completed: 0 downloaded, 1 already current, 0 failed, of 1 items/);
  });

  it('exits 1 naming the library and the vCenter when there is no such library', async () => {
    const run = await runCli(['mirror', '--library', 'no-such-library', '--dest', 'dr2', '--wait'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('vCenter default has no content library named or with the id "no-such-library"');
  });

  it('exits 1 with each failed item and its reason', async () => {
    const run = await runCli(['mirror', '--library', 'cldl-sim', '--dest', 'dr3', '--items', 'evil', '--wait'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ {2}evil: refusing file name "..\/..\/etc\/passwd" from the server/m);
  });

  it('exits 2 naming the field of an invalid request', async () => {
    const run = await runCli(['enqueue', '--item', 'x', '--dest', '../outside'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid download request: destination: "../outside" is not allowed: it contains ".."');
  });

  it('cancels, and says when there is nothing to cancel', async () => {
    expect((await runCli(['cancel', 'cli-1'], env)).stdout).toContain('cli-1: nothing to do: it has already finished');
    const unknown = await runCli(['cancel', 'no-such-download'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('cldl: no download no-such-download');
  });

  it("lists vCenter's sessions, tells cldl's from others', and cleans up cldl's orphans", async () => {
    const itemId = h.sim.item('photon.iso').id;
    const foreign = await h.vcenter.sessions.create(itemId, randomUUID());
    const orphan = await h.vcenter.sessions.create(itemId, randomUUID());
    await h.redis.hset(keysFor(h.prefix).sessions, `default/${orphan}`, 'gone-download');
    const vc = { VCENTER_URL: h.sim.url, VCENTER_USERNAME: h.sim.credentials.username, VCENTER_PASSWORD: h.sim.credentials.password, VCENTER_API: 'api' };
    const listed = await runCli(['sessions', '--json'], { ...env, ...vc });
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<{ session: string; owner: string | null; state: string }>;
    expect(rows.find((r) => r.session === foreign)).toMatchObject({ owner: null, state: 'ACTIVE' });
    expect(rows.find((r) => r.session === orphan)).toMatchObject({ owner: 'gone-download' });
    const cleaned = await runCli(['sessions', '--cleanup'], { ...env, ...vc });
    expect(cleaned.code).toBe(0);
    expect(cleaned.stderr).toContain('cleaned up 1 orphaned session(s)');
    expect(cleaned.stdout).toMatch(new RegExp(`${foreign} .* not cldl`));
    expect(cleaned.stdout).not.toContain(orphan);
  });
});

describe('cldl demo', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
    root = undefined;
  });

  it('downloads two items from the built-in simulator and says where they landed', async () => {
    root = await mkdtemp(path.join(tmpdir(), 'cldl-demo-'));
    const run = await runCli(['demo'], { REDIS_URL, CLDL_DOWNLOAD_ROOT: root }, 120_000);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`downloads  ${path.join(root, 'demo')}`);
    expect(run.stdout.match(/verified against the checksum vCenter reported/g)).toHaveLength(5);
    expect(run.stdout).toMatch(/2 download sessions, 2 deleted when done/);
    expect(await readdir(path.join(root, 'demo', 'tiny-vm'))).toEqual(['tiny-vm-disk1.vmdk', 'tiny-vm-disk2.vmdk', 'tiny-vm.mf', 'tiny-vm.ovf']);
  });

  it('starts a throwaway redis-server when none answers', async () => {
    root = await mkdtemp(path.join(tmpdir(), 'cldl-demo-'));
    const run = await runCli(['demo'], { REDIS_URL: 'redis://127.0.0.1:1', CLDL_DOWNLOAD_ROOT: root }, 120_000);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Redis +redis:\/\/127\.0\.0\.1:\d+ \(a throwaway redis-server started for the demo\)/);
  });

  it('says in one line how to get Redis when there is none to start', async () => {
    const run = await runCli(['demo'], { REDIS_URL: 'redis://127.0.0.1:1', PATH: path.dirname(process.execPath) });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      "cldl demo needs Redis and none answers at redis://127.0.0.1:1: start one with `docker compose up -d redis` or your distribution's package (apt-get install redis-server), or point REDIS_URL at one.",
    ]);
  });
});
