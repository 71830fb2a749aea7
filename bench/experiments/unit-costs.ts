// node bench/experiments/unit-costs.ts [--protocol http] [--n 2000]
// The CPU price of the things a small job does many times, each measured alone in this process
// (the simulator and Redis are other processes): one vAPI call through cldl's client, one Redis
// MULTI like DownloadStateStore.update, one durable small file (what DownloadPart + commitFile do).
// Multiplied by the counts of job-anatomy.ts they say where a 64 KiB job's CPU goes.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Agent } from 'undici';
import { REDIS_URL } from '../cldl.ts';
import { makeScratch, removeTree } from '../disk.ts';
import { PreparedSessions } from '../prepared.ts';
import { startBenchSimulator, type Protocol } from '../simulator.ts';

const { values } = parseArgs({ options: { protocol: { type: 'string', default: 'http' }, n: { type: 'string', default: '2000' } } });
const n = Number(values.n);

async function measure(label: string, times: number, one: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < Math.min(200, times); i++) await one(i); // warm-up
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < times; i++) await one(i);
  const wall = (performance.now() - started) / times;
  const used = process.cpuUsage(cpu);
  console.log(`${label.padEnd(58)} ${((1000 * wall) | 0).toString().padStart(6)} µs wall ${(((used.user + used.system) / times) | 0).toString().padStart(6)} µs CPU`);
}

const scratch = await makeScratch();
const sim = await startBenchSimulator(values.protocol as Protocol, { groups: [{ name: 'u', count: 1, size: 64 * 1024 }], prepareDelayMs: 0 }, scratch);
const prepared = new PreparedSessions(sim);
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const prefix = `{cldl-bench-${randomUUID()}}`;
try {
  const [file] = await prepared.prepare([sim.item('u-1')]);
  const vc = prepared.vcenter;
  console.log(`${values.protocol}, ${n} sequential operations each (CPU: this process only)`);
  await measure('vAPI download_session.get (cldl VCenterClient)', n, () => vc.sessions.get(file!.sessionId).then(() => undefined));
  await measure('vAPI download_session.keep_alive', n, () => vc.sessions.keepAlive(file!.sessionId));
  // The same GET with bare undici (no cldl funnel: no retry wrapper, signals, decoding): the floor.
  const agent = new Agent(sim.certPem ? { connect: { ca: sim.certPem } } : {});
  const url = new URL(`${sim.url}/api/content/library/item/download-session/${file!.sessionId}`);
  await measure('bare undici GET of the same session, body read as text', n, async () => {
    const res = await agent.request({ origin: url.origin, path: url.pathname, method: 'GET', headers: file!.headers });
    await res.body.text();
  });
  await agent.close();
  const key = `${prefix}:download:x`;
  await measure('Redis MULTI HSET+HDEL, as DownloadStateStore.update', n, async () => {
    await redis.multi().hset(key, { state: 'transferring', updatedAt: new Date().toISOString() }).hdel(key, 'lastError').exec();
  });
  await measure('Redis HGETALL', n, async () => void (await redis.hgetall(key)));
  const data = Buffer.alloc(64 * 1024, 1);
  const dir = path.join(scratch, 'files');
  await mkdir(dir);
  let made = 0;
  let committed = 0;
  await measure('64 KiB file: open, writev, truncate, fdatasync, close', Math.min(n, 1000), async () => {
    const h = await open(path.join(dir, `${made++}.part`), constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o640);
    await h.writev([data], 0);
    await h.truncate(data.length);
    await h.datasync();
    await h.close();
  });
  await measure('commit: link, unlink, fsync of the directory', Math.min(n, 1000), async () => {
    const i = committed++;
    await link(path.join(dir, `${i}.part`), path.join(dir, `${i}.bin`));
    await unlink(path.join(dir, `${i}.part`));
    const d = await open(dir, 'r');
    await d.sync();
    await d.close();
  });
} finally {
  await redis.del(`${prefix}:download:x`);
  await redis.quit();
  await prepared.close();
  await sim.stop();
  await removeTree(scratch);
}
