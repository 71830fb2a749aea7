import path from 'node:path';
import { CldlRig } from '../rig/cldl.ts';
import { removeTree, syncDisk } from '../rig/disk.ts';
import { startBenchSimulator } from '../rig/simulator.ts';
import { pairedRatios } from '../rig/stats.ts';
import { GiB, MiB, profilePath, sizeLabel, type BenchCase } from './context.ts';

/**
 * Case 2: the worker process's peak RSS (VmHWM) must not grow with file size. Each measurement in
 * a fresh worker process, so that each peak is that download's own; the variants rotate per round.
 */
export const memory: BenchCase = {
  id: 2,
  title: "worker peak RSS: small file vs large file vs 4 concurrent items",
  async run(ctx) {
    const small = ctx.quick ? 64 * MiB : 256 * MiB;
    const large = ctx.quick ? 512 * MiB : 2 * GiB;
    const quad = ctx.quick ? 256 * MiB : GiB;
    const sim = await startBenchSimulator(
      ctx.protocol,
      {
        groups: [
          { name: 'small', count: 1, size: small },
          { name: 'large', count: 1, size: large },
          { name: 'quad', count: 4, size: quad },
        ],
      },
      ctx.scratch,
    );
    const variants = {
      small: { label: `1 × ${sizeLabel(small)}`, items: [sim.item('small-1')] },
      large: { label: `1 × ${sizeLabel(large)}`, items: [sim.item('large-1')] },
      quad: { label: `4 × ${sizeLabel(quad)} at once`, items: [1, 2, 3, 4].map((i) => sim.item(`quad-${i}`)) },
    };
    type Variant = keyof typeof variants;
    const peaks: Record<Variant, number[]> = { small: [], large: [], quad: [] };
    const idle: number[] = [];
    const order: Variant[] = ['small', 'large', 'quad'];
    try {
      for (let round = 0; round < ctx.rounds; round++) {
        // Rotate, so that no variant always runs first (or right after the biggest).
        const rotated = [...order.slice(round % 3), ...order.slice(0, round % 3)];
        for (const v of rotated) {
          const root = path.join(ctx.scratch, `cldl-${v}-${round}`);
          await syncDisk();
          const rig = await CldlRig.start({ sim, root, settings: ctx.settings, cpuProfile: round === 0 ? profilePath(ctx, `memory-${v}`) : undefined });
          try {
            idle.push((await rig.worker.sample()).peakRss);
            const run = await rig.download(variants[v].items);
            peaks[v].push(run.worker.peakRss);
          } finally {
            await rig.stop();
            await removeTree(root);
          }
        }
      }
      const r = ctx.report;
      const p = ctx.protocol;
      const mib = (xs: number[]) => xs.map((x) => x / MiB);
      const cap = { max: 150, text: '≤ 150 MiB' };
      r.add(2, p, 'worker RSS when ready (idle)', 'MiB', mib(idle));
      r.add(2, p, `worker peak RSS, ${variants.small.label}`, 'MiB', mib(peaks.small), cap);
      r.add(2, p, `worker peak RSS, ${variants.large.label}`, 'MiB', mib(peaks.large), cap);
      r.add(2, p, `worker peak RSS, ${variants.quad.label}`, 'MiB', mib(peaks.quad), cap);
      r.add(2, p, `peak RSS ${sizeLabel(large)} / ${sizeLabel(small)}`, 'ratio', pairedRatios(peaks.large, peaks.small), { min: 0.9, max: 1.1, text: '0.90–1.10' });
    } finally {
      await sim.stop();
    }
  },
};
