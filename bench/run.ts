// npm run bench [-- --quick] [--case N]... [--protocol http|https] [--rounds N] [--settle-ms MS] [--profile]
// cldl against curl on the built-in simulator over loopback; see bench/README.md.
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
import { CURL } from './rig/curl.ts';
import { makeScratch, removeTree } from './rig/disk.ts';
import { Report } from './rig/report.ts';
import type { Protocol } from './rig/simulator.ts';
import { productionSettings } from './rig/worker-settings.ts';

const CASES: BenchCase[] = [oneFile, memory, concurrency, jobOverhead, checksumCost];
const RESULTS = path.join(import.meta.dirname, 'results');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    case: { type: 'string', multiple: true },
    protocol: { type: 'string', multiple: true },
    rounds: { type: 'string' },
    'settle-ms': { type: 'string' },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run bench -- [--quick] [--case N]... [--protocol http|https]... [--rounds N (≥ 3)] [--settle-ms MS] [--profile]');
  process.exit(0);
}
const selected = values.case ? values.case.flatMap((c) => c.split(',')).map(Number) : CASES.map((c) => c.id);
const cases = CASES.filter((c) => selected.includes(c.id));
if (cases.length !== selected.length) throw new Error(`unknown case in ${selected.join(', ')}; cases are ${CASES.map((c) => c.id).join(', ')}`);
const protocols = (values.protocol ?? ['http', 'https']) as Protocol[];
if (protocols.some((p) => p !== 'http' && p !== 'https')) throw new Error('--protocol is http or https');
const rounds = Math.max(3, Number(values.rounds ?? 3));
const settleMs = Number(values['settle-ms'] ?? (values.quick ? 3000 : 8000));

// Peers first: a bench that fails after ten minutes on a missing Redis wastes them.
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
await redis.connect();
await redis.ping();
await redis.quit();
const curlVersion = execFileSync(CURL, ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
const scratchRoot = await makeScratch();
const fs = await statfs(scratchRoot);
const freeGiB = (fs.bavail * fs.bsize) / 2 ** 30;
const needGiB = values.quick ? 3 : 10;
if (freeGiB < needGiB) throw new Error(`${scratchRoot} has ${freeGiB.toFixed(1)} GiB free; the bench needs ${needGiB}`);

const report = new Report({
  node: process.version,
  curl: curlVersion,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  scratch: scratchRoot,
  options: { quick: values.quick, cases: selected, protocols, rounds, settleMs, profile: values.profile },
  workerSettings: productionSettings(),
});
const stamp = report.startedAt.toISOString().replace(/[:.]/g, '-');
console.log(`cldl bench: ${process.version}, ${curlVersion}, ${os.cpus().length} CPUs, scratch ${scratchRoot} (${freeGiB.toFixed(0)} GiB free)`);

const started = performance.now();
let failed = false;
try {
  for (const c of cases) {
    for (const protocol of protocols) {
      console.log(`\n== case ${c.id} (${protocol}): ${c.title}`);
      const t = performance.now();
      const ctx: CaseContext = {
        protocol,
        quick: values.quick,
        rounds,
        scratch: path.join(scratchRoot, `case-${c.id}-${protocol}`),
        report,
        settings: productionSettings(),
        profileDir: values.profile ? RESULTS : undefined,
        settleMs,
        stamp,
      };
      try {
        await mkdir(ctx.scratch, { recursive: true });
        await c.run(ctx);
      } catch (err) {
        failed = true;
        report.note(`case ${c.id} (${protocol}) failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      } finally {
        await removeTree(ctx.scratch);
      }
      console.log(`  (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
  }
} finally {
  await removeTree(scratchRoot);
}
report.print();
const file = await report.write(RESULTS);
console.log(`\n${((performance.now() - started) / 60_000).toFixed(1)} min; results in ${path.relative(process.cwd(), file)}`);
process.exitCode = failed ? 1 : 0;
