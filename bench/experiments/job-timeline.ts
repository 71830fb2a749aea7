// node bench/experiments/job-timeline.ts [--protocol http] [--size 512M] [--settle 8000]
// Where one large job's wall time goes: the worker logs at debug level (every vAPI call with its
// duration), and this prints each line's offset from the enqueue, so the fixed costs around the
// transfer (pickup, session, prepare, final fdatasync, verification, commit, delete) stand out.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CldlRig } from '../cldl.ts';
import { makeScratch, removeTree, settle } from '../disk.ts';
import { startBenchSimulator, type Protocol } from '../simulator.ts';
import { productionSettings } from '../worker-settings.ts';

const { values } = parseArgs({
  options: {
    protocol: { type: 'string', default: 'http' },
    size: { type: 'string', default: '512' },
    settle: { type: 'string', default: '8000' },
  },
});
const size = Number(values.size) * 2 ** 20;
const scratch = await makeScratch();
const sim = await startBenchSimulator(values.protocol as Protocol, { groups: [{ name: 'big', count: 2, size }] }, scratch);
const rig = await CldlRig.start({ sim, root: path.join(scratch, 'cldl'), settings: productionSettings(), env: { CLDL_BENCH_LOG: 'debug' } });
try {
  await rig.download([sim.items[0]!]); // warm-up: connections, login, code paths
  await settle(Number(values.settle));
  const from = rig.worker.process.lines.length;
  const started = Date.now();
  const run = await rig.download([sim.items[1]!]);
  console.log(`${values.protocol}, ${values.size} MiB: ${(run.ms / 1000).toFixed(2)} s end to end, ${(run.bytes / 1e6 / (run.ms / 1000)).toFixed(0)} MB/s`);
  for (const line of rig.worker.process.lines.slice(from)) {
    const at = Number(line.time) - started;
    const extra = ['operation', 'durationMs', 'file', 'state'].filter((k) => k in line).map((k) => `${k}=${String(line[k])}`);
    console.log(`${String(at).padStart(7)} ms  ${String(line.msg)}  ${extra.join(' ')}`);
  }
} finally {
  await rig.stop();
  await sim.stop();
  await removeTree(scratch);
}
