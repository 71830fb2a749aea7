// node bench/experiments/memory-flags.ts [--server sim-http] [--size 1024] [--rounds 2] [--variants a,b] [--worker-start dist|npm-start|bin]
// The worker's peak RSS (and speed) for one large download under different V8 settings, each in a
// fresh worker process: does the memory above idle come from garbage waiting for collection?
// (`production` is WORKER_NODE_FLAGS, what npm start and the Docker image run; `node-default` none.)
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WORKER_NODE_FLAGS } from '../../src/service/node-flags.ts';
import { CldlRig } from '../rig/cldl.ts';
import { makeScratch, removeTree, syncDisk } from '../rig/disk.ts';
import { startServer, type ServerName } from '../rig/server.ts';
import { summarize } from '../rig/stats.ts';
import { DEFAULT_WORKER_START, WORKER_START_MODES, type WorkerStartMode } from '../rig/worker.ts';

const VARIANTS: Record<string, readonly string[]> = {
  production: WORKER_NODE_FLAGS,
  'node-default': [],
  'semi-4m': ['--max-semi-space-size=4'],
  'semi-2m': ['--max-semi-space-size=2'],
  'semi-1m': ['--max-semi-space-size=1'],
  'old-64m': ['--max-old-space-size=64'],
};

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'sim-http' },
    size: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '2' },
    variants: { type: 'string', default: 'node-default,production,semi-4m' },
    // Which script runs (`dist` needs `npm run build` first); the variant's flags replace the worker's own.
    'worker-start': { type: 'string', default: DEFAULT_WORKER_START },
  },
});
const names = values.variants.split(',');
for (const n of names) if (!(n in VARIANTS)) throw new Error(`unknown variant ${n}; known: ${Object.keys(VARIANTS).join(', ')}`);
const mode = values['worker-start'] as WorkerStartMode;
if (!WORKER_START_MODES.includes(mode)) throw new Error(`--worker-start is one of ${WORKER_START_MODES.join(', ')}`);
const size = Number(values.size) * 2 ** 20;
const scratch = await makeScratch();
const sim = await startServer(values.server as ServerName, { groups: [{ name: 'big', count: 1, size }] }, scratch, undefined);
const results = new Map<string, Array<{ idle: number; peak: number; mbs: number; cpu: number }>>(names.map((n) => [n, []]));
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const n of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
      const root = path.join(scratch, `cldl-${n}-${round}`);
      await syncDisk();
      // CLDL_NODE_FLAGS: the worker would otherwise add its own flags to the variant's.
      const rig = await CldlRig.start({ server: sim, root, mode, nodeFlags: VARIANTS[n], env: { CLDL_NODE_FLAGS: VARIANTS[n]!.join(' ') } });
      try {
        const idle = (await rig.worker.sample()).peakRss;
        const run = await rig.download([sim.items[0]!]);
        results.get(n)!.push({ idle, peak: run.worker.peakRss, mbs: run.bytes / 1e6 / (run.ms / 1000), cpu: run.workerCpuMs / 1000 / (run.bytes / 1e9) });
      } finally {
        await rig.stop();
        await removeTree(root);
      }
    }
  }
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(`${values.server}, ${mode}, ${values.size} MiB, ${values.rounds} rounds; RSS in MiB (medians)`);
  console.log(`${'variant'.padEnd(10)}${'idle'.padStart(7)}${'peak'.padStart(7)}${'MB/s'.padStart(7)}${'CPU s/GB'.padStart(10)}  flags`);
  for (const n of names) {
    const r = results.get(n)!;
    const m = (f: (x: (typeof r)[number]) => number) => summarize(r.map(f)).median;
    console.log(`${n.padEnd(10)}${mib(m((x) => x.idle)).padStart(7)}${mib(m((x) => x.peak)).padStart(7)}${m((x) => x.mbs).toFixed(0).padStart(7)}${m((x) => x.cpu).toFixed(2).padStart(10)}  ${VARIANTS[n]!.join(' ')}`);
  }
} finally {
  await sim.stop();
  await removeTree(scratch);
}
