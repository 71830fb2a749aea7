import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, type CldlConfig } from '../config/load-config.ts';
import { maskCredentials } from '../config/mask-credentials.ts';
import { createLogger } from '../logging/create-logger.ts';
import { deleteKeysUnder, DownloadClient, DownloadWorker, MapVCenterRegistry, type DownloadResult } from '../orchestrator/index.ts';
import { workerOptionsFrom } from '../service/worker-options.ts';
import { startSimulator } from '../simulator/index.ts';
import { VCenterClient } from '../vsphere/index.ts';
import { EXIT } from './exit-codes.ts';
import { formatBytes } from './format.ts';
import { redisAnswers, redisServerInstalled, startThrowawayRedis } from './local-redis.ts';
import { MultiProgress } from './progress-display.ts';

const MiB = 1024 * 1024;

/** What the demo's simulator serves: an ISO-like file and an OVF-like template of several files. */
const ITEMS = [
  { name: 'photon-5.0-x86_64.iso', type: 'iso', files: [{ name: 'photon-5.0-x86_64.iso', size: 96 * MiB }] },
  {
    name: 'tiny-vm',
    manifest: true,
    files: [
      { name: 'tiny-vm.ovf', size: 6 * 1024 },
      { name: 'tiny-vm-disk1.vmdk', size: 48 * MiB },
      { name: 'tiny-vm-disk2.vmdk', size: 16 * MiB + 3 },
    ],
  },
];

/**
 * `cldl demo`: the whole product on the built-in simulator, with nothing to set up but Redis. It
 * starts the simulator (HTTPS, trusted by its certificate thumbprint), a worker and a client in
 * this process, downloads two items while showing their progress, and says where the files landed
 * and how they were verified.
 */
export async function runDemo(): Promise<number> {
  const config = loadConfig();
  const out = (line = '') => process.stdout.write(`${line}\n`);

  let redisUrl = config.redis.url;
  let throwaway: { url: string; stop(): void } | undefined;
  if (!(await redisAnswers(redisUrl))) {
    if (!redisServerInstalled()) {
      console.error(
        `cldl demo needs Redis and none answers at ${maskCredentials(redisUrl)}: start one with \`docker compose up -d redis\` or your distribution's package (apt-get install redis-server), or point REDIS_URL at one.`,
      );
      return EXIT.failure;
    }
    throwaway = await startThrowawayRedis();
    redisUrl = throwaway.url;
  }

  const prefix = `{cldl-demo-${process.pid}}`;
  const sim = await startSimulator({ tls: true, prepareDelayMs: 150, items: ITEMS });
  // Slow enough to watch the progress, fast enough to be done in seconds.
  sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 60 * MiB });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  // Errors only: the demo's throwaway Redis has no persistence, which is fine here.
  const logger = createLogger({ level: 'error', pretty: 'never', destination: process.stderr });
  const vcenter = new VCenterClient({
    url: sim.url,
    username: sim.credentials.username,
    password: sim.credentials.password,
    tls: { thumbprint: sim.tls!.thumbprint },
  });
  const demoConfig: CldlConfig = { ...config, redis: { ...config.redis, url: redisUrl, prefix } };
  const worker = await DownloadWorker.start(workerOptionsFrom(demoConfig, { redis, vcenters: new MapVCenterRegistry([vcenter]), logger }));
  const client = new DownloadClient({ redis, prefix, vcenters: ['default'] });

  try {
    out('cldl demo: two Content Library items, downloaded by a cldl worker');
    out(`  vCenter    the built-in simulator at ${sim.url}, trusted by its certificate thumbprint ${sim.tls!.thumbprint.slice(0, 17)}…`);
    out(`  Redis      ${maskCredentials(redisUrl)}${throwaway ? ' (a throwaway redis-server started for the demo)' : ''}, keys under ${prefix}`);
    out(`  downloads  ${path.join(config.downloadRoot, 'demo')}`);
    out();

    const progress = new MultiProgress(process.stdout);
    const labels = new Map<string, string>();
    client.on('progress', (id, p) => {
      const label = labels.get(id);
      if (label) progress.update(label, p);
    });
    const ids: string[] = [];
    for (const item of ITEMS) {
      const id = await client.enqueueDownload({ libraryItemId: sim.item(item.name).id, destination: `demo/${item.name}`, overwrite: true });
      labels.set(id, item.name.padEnd(22));
      ids.push(id);
    }
    const results = await Promise.all(ids.map((id) => client.waitForDownload(id, { timeoutMs: 120_000 })));
    out();
    results.forEach((r, i) => printResult(out, ITEMS[i]!.name, r, config.downloadRoot));
    const seen = sim.inspect();
    out();
    out(
      `vCenter's side: ${seen.sessions.length} download sessions, ${seen.sessions.filter((s) => s.gone === 'deleted').length} deleted when done; ` +
        `${seen.sessions.reduce((n, s) => n + s.keepAlives.length, 0)} keep-alives ending at ${seen.sessions.map((s) => `${s.progress}%`).join(', ')}; ` +
        `${seen.dataRequests.length} file transfers.`,
    );
    out('Next: `npm start` runs the worker against a real vCenter (README, "Configuration"); `cldl enqueue --help` shows how to queue downloads.');
    return EXIT.ok;
  } finally {
    await client.close();
    await worker.close();
    await vcenter.close();
    await deleteKeysUnder(redis, prefix);
    await redis.quit().catch(() => undefined);
    await sim.stop();
    throwaway?.stop();
  }
}

function printResult(out: (line?: string) => void, name: string, r: DownloadResult, root: string): void {
  out(`${name}: ${formatBytes(r.totalBytes)} in ${(r.durationMs / 1000).toFixed(1)} s`);
  for (const f of r.files) {
    const where = path.join(root, 'demo', name, f.name);
    out(`  ${where}`);
    out(`      ${formatBytes(f.size)}, ${f.checksumAlgorithm} ${f.checksum}${f.verified ? ' — verified against the checksum vCenter reported' : ''}`);
  }
}
