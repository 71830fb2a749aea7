// node bench/experiments/job-overhead-settings.ts [--protocol http] [--count 1000] [--rounds 3] [--variants a,b] [--profile name]
// Case 4 (many 64 KiB items) under different worker settings, to see what bounds items/s: each
// variant in a fresh worker process, a 50-item warm-up, then `count` items; rounds rotate the order.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CldlRig } from '../cldl.ts';
import { makeScratch, removeTree } from '../disk.ts';
import { sampleProcess } from '../processes.ts';
import { startBenchSimulator, type Protocol } from '../simulator.ts';
import { summarize } from '../stats.ts';
import { productionSettings, withOverrides, type DeepPartial, type WorkerSettings } from '../worker-settings.ts';

const VARIANTS: Record<string, DeepPartial<WorkerSettings>> = {
  production: {},
  poll5: { job: { prepare: { pollMs: 5 } } },
  c8: { concurrency: 8 },
  c16: { concurrency: 16, limits: { transfersPerProcess: 16, sessionsPerVCenter: 16 } },
};

const { values } = parseArgs({
  options: {
    protocol: { type: 'string', default: 'http' },
    count: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'production,poll5,c8,c16' },
    profile: { type: 'string' },
  },
});
const names = values.variants.split(',');
for (const n of names) if (!(n in VARIANTS)) throw new Error(`unknown variant ${n}; known: ${Object.keys(VARIANTS).join(', ')}`);
const count = Number(values.count);
const scratch = await makeScratch();
const sim = await startBenchSimulator(values.protocol as Protocol, { groups: [{ name: 'tiny', count: count + 50, size: 64 * 1024 }], prepareDelayMs: 0 }, scratch);
const warmup = sim.items.slice(0, 50);
const items = sim.items.slice(50);
const results = new Map<string, Array<{ perSecond: number; workerCpuMs: number; simCpuMs: number }>>(names.map((n) => [n, []]));
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const n of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
      const root = path.join(scratch, `${n}-${round}`);
      const profile = values.profile === n && round === 0 ? path.join(import.meta.dirname, '..', 'results', `job-overhead-${n}-${values.protocol}.cpuprofile`) : undefined;
      const rig = await CldlRig.start({ sim, root, settings: withOverrides(productionSettings(), VARIANTS[n]), cpuProfile: profile });
      try {
        await removeTree((await rig.download(warmup)).dir);
        const simBefore = await sampleProcess(sim.process.pid);
        const run = await rig.download(items);
        const simCpuMs = (await sampleProcess(sim.process.pid)).cpuMs - simBefore.cpuMs;
        results.get(n)!.push({ perSecond: count / (run.ms / 1000), workerCpuMs: run.workerCpuMs / count, simCpuMs: simCpuMs / count });
        await removeTree(run.dir);
      } finally {
        await rig.stop();
        await removeTree(root);
      }
    }
  }
  console.log(`${values.protocol}, ${count} × 64 KiB, ${values.rounds} rounds (simulator prepares at once)`);
  console.log(`${'variant'.padEnd(14)}${'items/s'.padStart(9)}${'spread'.padStart(14)}${'worker CPU ms/item'.padStart(20)}${'simulator CPU ms/item'.padStart(23)}`);
  for (const n of names) {
    const r = results.get(n)!;
    const s = summarize(r.map((x) => x.perSecond));
    console.log(
      `${n.padEnd(14)}${s.median.toFixed(0).padStart(9)}${`${s.min.toFixed(0)}–${s.max.toFixed(0)}`.padStart(14)}${summarize(r.map((x) => x.workerCpuMs)).median.toFixed(2).padStart(20)}${summarize(r.map((x) => x.simCpuMs)).median.toFixed(2).padStart(23)}`,
    );
  }
} finally {
  await sim.stop();
  await removeTree(scratch);
}
