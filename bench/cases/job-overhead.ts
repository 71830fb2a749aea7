import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CldlRig } from '../rig/cldl.ts';
import { curlParallel } from '../rig/curl.ts';
import { removeTree, syncDisk } from '../rig/disk.ts';
import { PreparedSessions } from '../rig/prepared.ts';
import { startBenchSimulator } from '../rig/simulator.ts';
import { alternate, pairedRatios } from '../rig/stats.ts';
import { profilePath, type BenchCase } from './context.ts';

/**
 * Case 4: many tiny items, where the per-job cost is everything: each cldl job makes its vAPI
 * calls (item, session create, file list, prepare, polls, file get, keep-alive, delete), its Redis
 * writes, an fsync and a rename. curl gets the same data URLs ready-made (sessions prepared in
 * advance), `-Z --parallel-max 8`. The simulator prepares at once (no prepare delay), so what is
 * measured is cldl's own work and waiting, not vCenter's.
 */
export const jobOverhead: BenchCase = {
  id: 4,
  title: 'job overhead: many 64 KiB items',
  async run(ctx) {
    const count = ctx.quick ? 200 : 1000;
    const size = 64 * 1024;
    const sim = await startBenchSimulator(ctx.protocol, { groups: [{ name: 'tiny', count, size }], prepareDelayMs: 0 }, ctx.scratch);
    const prepared = new PreparedSessions(sim);
    const root = path.join(ctx.scratch, 'cldl');
    let rig: CldlRig | undefined;
    try {
      const items = sim.items;
      const files = await prepared.prepare(items);
      rig = await CldlRig.start({ sim, root, settings: ctx.settings, cpuProfile: profilePath(ctx, 'job-overhead') });
      const cldl: number[] = [];
      const curl: number[] = [];
      await alternate(ctx.rounds, {
        cldl: async () => {
          await syncDisk();
          const run = await rig!.download(items);
          cldl.push(count / (run.ms / 1000));
          await removeTree(run.dir);
        },
        curl: async (round) => {
          await prepared.keepAlive();
          const dir = path.join(ctx.scratch, `curl-${round}`);
          await mkdir(dir);
          await syncDisk();
          const run = await curlParallel(files, files.map((f) => path.join(dir, f.file)), sim.caFile, 8, ctx.scratch);
          curl.push(count / (run.ms / 1000));
          await removeTree(dir);
        },
      });
      const r = ctx.report;
      const p = ctx.protocol;
      r.add(4, p, `cldl, ${count} × 64 KiB jobs end to end`, 'items/s', cldl, { min: 250, text: '≥ 250 items/s' });
      r.add(4, p, `curl -Z --parallel-max 8, prepared URLs`, 'items/s', curl);
      r.add(4, p, 'cldl / curl', 'ratio', pairedRatios(cldl, curl));
    } finally {
      await rig?.stop();
      await prepared.close();
      await sim.stop();
      await removeTree(root);
    }
  },
};
