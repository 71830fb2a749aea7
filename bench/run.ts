// npm run bench [-- --quick] [--case N]... [--server vcsim|sim-http|sim-https]... [--rounds N]
//   [--settle-ms MS] [--pinning server|split|none] [--worker-start dist|npm-start|bin] [--profile]
// cldl against curl on govmomi's vcsim and on the built-in simulator over loopback; see bench/README.md.
import { execFileSync } from 'node:child_process';
import { mkdir, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { REDIS_URL } from './rig/cldl.ts';
import { checksumCost } from './cases/checksum-cost.ts';
import { concurrency } from './cases/concurrency.ts';
import type { BenchCase, CaseContext } from './cases/context.ts';
import { jobOverhead } from './cases/job-overhead.ts';
import { memory } from './cases/memory.ts';
import { oneFile } from './cases/one-file.ts';
import { segmented } from './cases/segmented.ts';
import { sharedCap } from './cases/shared-cap.ts';
import { CURL } from './rig/curl.ts';
import { makeScratch, removeTree } from './rig/disk.ts';
import { cpuAccount } from './rig/processes.ts';
import { coresFor, PINNINGS, type Pinning } from './rig/pinning.ts';
import { Report } from './rig/report.ts';
import { SERVERS, type ServerName } from './rig/server.ts';
import { DEFAULT_WORKER_START, WORKER_START_MODES, workerCommand, type WorkerStartMode } from './rig/worker.ts';

const CASES: BenchCase[] = [oneFile, memory, concurrency, jobOverhead, checksumCost, segmented, sharedCap];
const RESULTS = path.join(import.meta.dirname, 'results');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    case: { type: 'string', multiple: true },
    server: { type: 'string', multiple: true },
    rounds: { type: 'string' },
    'settle-ms': { type: 'string' },
    pinning: { type: 'string', default: 'server' },
    'worker-start': { type: 'string', default: process.env.CLDL_BENCH_WORKER_START ?? DEFAULT_WORKER_START },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'usage: npm run bench -- [--quick] [--case N]... [--server vcsim|sim-http|sim-https]... [--rounds N (≥ 3)] [--settle-ms MS]\n' +
      '                        [--pinning server|split|none] [--worker-start dist|npm-start|bin] [--profile]',
  );
  process.exit(0);
}
const selected = values.case ? values.case.flatMap((c) => c.split(',')).map(Number) : CASES.map((c) => c.id);
const cases = CASES.filter((c) => selected.includes(c.id));
if (cases.length !== selected.length) throw new Error(`unknown case in ${selected.join(', ')}; cases are ${CASES.map((c) => c.id).join(', ')}`);
const servers = values.server?.flatMap((s) => s.split(',')) as ServerName[] | undefined;
if (servers?.some((s) => !SERVERS.includes(s))) throw new Error(`--server is one of ${SERVERS.join(', ')}`);
const pinning = values.pinning as Pinning;
if (!PINNINGS.includes(pinning)) throw new Error(`--pinning is one of ${PINNINGS.join(', ')}`);
const workerStart = values['worker-start'] as WorkerStartMode;
if (!WORKER_START_MODES.includes(workerStart)) throw new Error(`--worker-start is one of ${WORKER_START_MODES.join(', ')}`);
// Fails now, not after ten minutes, if the start script is not understood.
if (workerCommand(workerStart).built) {
  // The built bin as the sources are now, never a stale dist/.
  console.log(`npm run build (--worker-start ${workerStart})`);
  execFileSync('npm', ['run', 'build'], { cwd: path.join(import.meta.dirname, '..'), stdio: 'inherit' });
}
const rounds = Math.max(3, Number(values.rounds ?? 3));
// The issue measured with 5 s; rig/disk.ts says why any pause at all.
const settleMs = Number(values['settle-ms'] ?? (values.quick ? 2000 : 5000));
const cores = coresFor(pinning);

// Peers first: a bench that fails after ten minutes on a missing Redis wastes them.
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
await redis.connect();
await redis.ping();
await redis.quit();
const curlVersion = execFileSync(CURL, ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
const scratchRoot = await makeScratch();
const fs = await statfs(scratchRoot);
const freeGiB = (fs.bavail * fs.bsize) / 2 ** 30;
const needGiB = values.quick ? 4 : 16;
if (freeGiB < needGiB) throw new Error(`${scratchRoot} has ${freeGiB.toFixed(1)} GiB free; the bench needs ${needGiB}`);

const report = new Report({
  node: process.version,
  curl: curlVersion,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  loadAverageAtStart: os.loadavg(),
  scratch: scratchRoot,
  options: { quick: values.quick, cases: selected, servers, rounds, settleMs, pinning, cores, workerStart, profile: values.profile },
});
const stamp = report.startedAt.toISOString().replace(/[:.]/g, '-');
console.log(
  `cldl bench: ${process.version}, ${curlVersion}, ${os.cpus().length} CPUs, scratch ${scratchRoot} (${freeGiB.toFixed(0)} GiB free), ` +
    `pinning ${pinning} (server ${cores.server ?? 'any'}, client ${cores.client ?? 'any'}), worker started as ${workerStart}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
);

const started = performance.now();
let failed = false;
try {
  for (const c of cases) {
    // --server picks among the servers a case runs against in a full run; with --case, any server.
    const on = servers ? servers.filter((s) => values.case || c.servers(false).includes(s)) : c.servers(values.quick);
    for (const server of on) {
      console.log(`\n== case ${c.id} (${server}): ${c.title}`);
      const t = performance.now();
      const load = os.loadavg()[0]!;
      const cpuBefore = await cpuAccount();
      const ctx: CaseContext = {
        server,
        quick: values.quick,
        rounds,
        scratch: path.join(scratchRoot, `case-${c.id}-${server}`),
        report,
        cores,
        workerStart,
        profileDir: values.profile ? RESULTS : undefined,
        settleMs,
        stamp,
      };
      try {
        await mkdir(ctx.scratch, { recursive: true });
        await c.run(ctx);
      } catch (err) {
        failed = true;
        report.note(`case ${c.id} (${server}) failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      } finally {
        await removeTree(ctx.scratch);
      }
      const seconds = (performance.now() - t) / 1000;
      const cpuAfter = await cpuAccount();
      // What else ran meanwhile, in cores: the bench's own processes (servers, workers, curl) excluded.
      const others = (cpuAfter.machineMs - cpuBefore.machineMs - (cpuAfter.oursMs - cpuBefore.oursMs)) / 1000 / seconds;
      console.log(`  (${seconds.toFixed(0)} s; other work on the machine: ${others.toFixed(2)} cores; load average ${load.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)})`);
      report.timing(`case ${c.id} ${server}`, seconds, others, [load, os.loadavg()[0]!]);
    }
  }
} finally {
  await removeTree(scratchRoot);
}
report.print();
const file = await report.write(RESULTS);
console.log(`\n${((performance.now() - started) / 60_000).toFixed(1)} min; results in ${path.relative(process.cwd(), file)}`);
process.exitCode = failed ? 1 : 0;
