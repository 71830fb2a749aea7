import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CldlRig } from '../rig/cldl.ts';
import { curlProcesses } from '../rig/curl.ts';
import { removeTree, settle } from '../rig/disk.ts';
import { PreparedSessions } from '../rig/prepared.ts';
import { startBenchSimulator } from '../rig/simulator.ts';
import { alternate, mbPerSecond, pairedRatios } from '../rig/stats.ts';
import { MiB, profilePath, sizeLabel, type BenchCase } from './context.ts';

/** Case 3: four items at once, one cldl worker against four curl processes started together. */
export const concurrency: BenchCase = {
  id: 3,
  title: 'four items at once: cldl vs four parallel curls',
  async run(ctx) {
    const size = ctx.quick ? 128 * MiB : 512 * MiB;
    const total = 4 * size;
    const sim = await startBenchSimulator(ctx.protocol, { groups: [{ name: 'four', count: 4, size }] }, ctx.scratch);
    const prepared = new PreparedSessions(sim);
    const root = path.join(ctx.scratch, 'cldl');
    let rig: CldlRig | undefined;
    try {
      const items = [1, 2, 3, 4].map((i) => sim.item(`four-${i}`));
      const files = await prepared.prepare(items);
      const outputs = files.map((_, i) => path.join(ctx.scratch, `curl-${i}.bin`));
      rig = await CldlRig.start({ sim, root, settings: ctx.settings, cpuProfile: profilePath(ctx, 'concurrency') });
      const cldl: number[] = [];
      const curl: number[] = [];
      await alternate(ctx.rounds, {
        cldl: async () => {
          await settle(ctx.settleMs);
          const run = await rig!.download(items);
          cldl.push(mbPerSecond(total, run.ms));
          await removeTree(run.dir);
        },
        curl: async () => {
          await prepared.keepAlive();
          await settle(ctx.settleMs);
          const run = await curlProcesses(files, outputs, sim.caFile);
          curl.push(mbPerSecond(total, run.ms));
          await Promise.all(outputs.map((o) => rm(o)));
        },
      });
      const r = ctx.report;
      const p = ctx.protocol;
      r.add(3, p, `cldl, 4 × ${sizeLabel(size)} aggregate`, 'MB/s', cldl);
      r.add(3, p, `4 curl processes aggregate`, 'MB/s', curl);
      r.add(3, p, 'cldl / 4 curls', 'ratio', pairedRatios(cldl, curl), { min: 0.9, text: '≥ 0.90' });
    } finally {
      await rig?.stop();
      await prepared.close();
      await sim.stop();
      await removeTree(root);
    }
  },
};
