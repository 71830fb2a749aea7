// node bench/experiments/job-anatomy.ts [--server sim-http] [--count 200] [--poll-ms 25] [--profile FILE.cpuprofile]
// What one small job costs, counted: vAPI calls per operation (the worker's /metrics), Redis commands
// per type under this run's prefix (redis-cli MONITOR, read-only, filtered to our prefix), and the
// worker's wall and CPU time per item, with the CPU the server, Redis (all of it: the server is
// shared) and this process (the producer, DownloadClient) spent meanwhile.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { CldlRig, REDIS_URL } from '../rig/cldl.ts';
import { makeScratch, removeTree } from '../rig/disk.ts';
import { sampleProcess } from '../rig/processes.ts';
import { startServer, type ServerName } from '../rig/server.ts';
import { DEFAULT_WORKER_START, workerMetrics } from '../rig/worker.ts';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'sim-http' },
    count: { type: 'string', default: '200' },
    'poll-ms': { type: 'string', default: '25' },
    profile: { type: 'string' },
  },
});
const count = Number(values.count);
const scratch = await makeScratch();
const sim = await startServer(values.server as ServerName, { groups: [{ name: 'tiny', count, size: 64 * 1024 }], prepareDelayMs: 0, manifests: false }, scratch, undefined);
const rig = await CldlRig.start({ server: sim, root: path.join(scratch, 'cldl'), mode: DEFAULT_WORKER_START, config: { prepare: { pollMs: Number(values['poll-ms']) } }, cpuProfile: values.profile && path.resolve(values.profile) });
const monitor = spawn('redis-cli', ['-h', '127.0.0.1', 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
const redisCommands = new Map<string, number>();
const prefixTag = rig.prefix.slice(1, -1); // MONITOR prints arguments quoted; match the tag's inside
createInterface({ input: monitor.stdout }).on('line', (line) => {
  if (!line.includes(prefixTag)) return;
  // `[db lua]` marks a command run inside a script: no round trip of its own.
  const m = /\[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
  if (!m) return;
  const key = `${m[1] === 'lua' ? 'lua: ' : ''}${m[2]!.toUpperCase()}`;
  redisCommands.set(key, (redisCommands.get(key) ?? 0) + 1);
});
await new Promise((r) => setTimeout(r, 500));
redisCommands.clear(); // the worker's start-up and idle polling so far
const info = new Redis(REDIS_URL);
const redisPid = Number(/process_id:(\d+)/.exec(await info.info('server'))?.[1]);
await info.quit();
const others = async () => ({ server: (await sampleProcess(sim.pid)).cpuMs, redis: (await sampleProcess(redisPid)).cpuMs, self: process.cpuUsage() });
let stopped = false;
try {
  const vapiBefore = await vapiCalls(rig.worker.http);
  const before = await others();
  const run = await rig.download(sim.items);
  const after = await others();
  await new Promise((r) => setTimeout(r, 500));
  monitor.kill();
  const vapiAfter = await vapiCalls(rig.worker.http);
  await rig.stop();
  stopped = true;
  console.log(`${values.server}, ${count} × 64 KiB, prepare poll ${values['poll-ms']} ms: ${(count / (run.ms / 1000)).toFixed(0)} items/s, worker CPU ${(run.workerCpuMs / count).toFixed(2)} ms/item`);
  const self = process.cpuUsage(before.self);
  console.log(
    `meanwhile, CPU ms/item: server ${((after.server - before.server) / count).toFixed(2)}, redis-server ${((after.redis - before.redis) / count).toFixed(2)}, ` +
      `this process (producer) ${((self.user + self.system) / 1000 / count).toFixed(2)}`,
  );
  const vapi = Object.entries(vapiAfter)
    .map(([op, n]) => [op, n - (vapiBefore[op] ?? 0)] as const)
    .sort((a, b) => b[1] - a[1]);
  console.log(`vAPI calls per item: ${(vapi.reduce((s, [, n]) => s + n, 0) / count).toFixed(2)}`);
  for (const [op, n] of vapi) console.log(`  ${op.padEnd(36)} ${(n / count).toFixed(2)}`);
  const redis = [...redisCommands].sort((a, b) => b[1] - a[1]);
  const direct = redis.filter(([k]) => !k.startsWith('lua: ')).reduce((s, [, n]) => s + n, 0);
  console.log(
    `Redis commands per item (producer and worker, under the prefix): ${(direct / count).toFixed(1)} sent by clients, ` +
      `${(redis.reduce((s, [, n]) => s + n, 0) / count - direct / count).toFixed(1)} more run inside scripts`,
  );
  for (const [cmd, n] of redis) console.log(`  ${cmd.padEnd(36)} ${(n / count).toFixed(2)}`);
} finally {
  monitor.kill();
  if (!stopped) await rig.stop();
  await sim.stop();
  await removeTree(scratch);
}

/** The worker's vAPI calls so far per operation (every outcome), from its /metrics. */
async function vapiCalls(http: string): Promise<Record<string, number>> {
  const text = await workerMetrics(http);
  const calls: Record<string, number> = {};
  for (const m of text.matchAll(/^cldl_vapi_requests_total\{([^}]*)\} (\d+)/gm)) {
    const op = /operation="([^"]+)"/.exec(m[1]!)?.[1] ?? '?';
    calls[op] = (calls[op] ?? 0) + Number(m[2]);
  }
  return calls;
}
