import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CldlRig } from '../rig/cldl.ts';
import { curlOne } from '../rig/curl.ts';
import { removeTree, settle, syncFile } from '../rig/disk.ts';
import { PreparedSessions } from '../rig/prepared.ts';
import { sampleProcess } from '../rig/processes.ts';
import { startBenchSimulator } from '../rig/simulator.ts';
import { alternate, mbPerSecond, pairedRatios } from '../rig/stats.ts';
import { GiB, MiB, profilePath, sizeLabel, type BenchCase } from './context.ts';

/**
 * Case 1: one large file, a whole cldl job (enqueue → verified file on disk) against `curl -o` of
 * the same data URL, alternating. curl writes without fsync; cldl makes the file durable, so the
 * fdatasync that would give curl's file the same guarantee is timed too, as a second reference.
 */
export const oneFile: BenchCase = {
  id: 1,
  title: 'one large file: cldl job vs curl -o',
  async run(ctx) {
    const size = ctx.quick ? 512 * MiB : 2 * GiB;
    const sim = await startBenchSimulator(ctx.protocol, { groups: [{ name: 'one', count: 1, size }] }, ctx.scratch);
    const prepared = new PreparedSessions(sim);
    const root = path.join(ctx.scratch, 'cldl');
    let rig: CldlRig | undefined;
    try {
      const item = sim.item('one-1');
      const [file] = await prepared.prepare([item]);
      rig = await CldlRig.start({ sim, root, settings: ctx.settings, cpuProfile: profilePath(ctx, 'one-file') });
      const cldl = { ms: [] as number[], cpu: [] as number[], simCpu: [] as number[] };
      const curl = { ms: [] as number[], cpu: [] as number[], simCpu: [] as number[], syncMs: [] as number[] };
      const out = path.join(ctx.scratch, 'curl.bin');
      await alternate(ctx.rounds, {
        cldl: async () => {
          await settle(ctx.settleMs);
          const simBefore = await sampleProcess(sim.process.pid);
          const run = await rig!.download([item]);
          cldl.simCpu.push((await sampleProcess(sim.process.pid)).cpuMs - simBefore.cpuMs);
          cldl.ms.push(run.ms);
          cldl.cpu.push(run.workerCpuMs);
          await removeTree(run.dir);
        },
        curl: async () => {
          await prepared.keepAlive();
          await settle(ctx.settleMs);
          const simBefore = await sampleProcess(sim.process.pid);
          const run = await curlOne(file!, out, sim.caFile);
          curl.simCpu.push((await sampleProcess(sim.process.pid)).cpuMs - simBefore.cpuMs);
          curl.ms.push(run.ms);
          curl.cpu.push(run.cpuMs);
          curl.syncMs.push(await syncFile(out));
          await rm(out);
        },
      });
      const r = ctx.report;
      const p = ctx.protocol;
      const what = sizeLabel(size);
      const cldlMBs = cldl.ms.map((ms) => mbPerSecond(size, ms));
      const curlMBs = curl.ms.map((ms) => mbPerSecond(size, ms));
      const curlSyncedMBs = curl.ms.map((ms, i) => mbPerSecond(size, ms + curl.syncMs[i]!));
      r.add(1, p, `cldl job, ${what}`, 'MB/s', cldlMBs);
      r.add(1, p, `curl -o, ${what}`, 'MB/s', curlMBs);
      r.add(1, p, 'cldl / curl', 'ratio', pairedRatios(cldlMBs, curlMBs), { min: p === 'https' ? 0.9 : 0.95, text: `≥ ${p === 'https' ? '0.90' : '0.95'}` });
      r.add(1, p, 'curl -o + fdatasync', 'MB/s', curlSyncedMBs);
      r.add(1, p, 'cldl / (curl + fdatasync)', 'ratio', pairedRatios(cldlMBs, curlSyncedMBs));
      r.add(1, p, 'cldl worker CPU per GB', 'CPU s', cldl.cpu.map((c) => c / 1000 / (size / 1e9)));
      r.add(1, p, 'curl CPU per GB', 'CPU s', curl.cpu.map((c) => c / 1000 / (size / 1e9)));
      r.add(1, p, 'simulator CPU per GB (cldl runs)', 'CPU s', cldl.simCpu.map((c) => c / 1000 / (size / 1e9)));
      r.add(1, p, 'simulator CPU per GB (curl runs)', 'CPU s', curl.simCpu.map((c) => c / 1000 / (size / 1e9)));
    } finally {
      await rig?.stop();
      await prepared.close();
      await sim.stop();
      await removeTree(root);
    }
  },
};
