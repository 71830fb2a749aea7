import { syncDisk } from '../rig/disk.ts';
import { pairedRatios } from '../rig/stats.ts';
import { GiB, MiB, sizeLabel, startCaseServer, startCldl, type BenchCase } from './context.ts';

/**
 * Case 2: the peak RSS (VmHWM) of `cldl worker`, started as users start it (rig/worker.ts), for
 * one small file, one large file and four files at once, each in a fresh worker so that each peak
 * is that download's own; the variants rotate per round. Against the simulator, files of 64 MiB and
 * more go in four segments (four connections each); against vcsim, in one stream.
 */
export const memory: BenchCase = {
  id: 2,
  title: 'cldl worker peak RSS: small file, large file, 4 at once',
  servers: () => ['sim-https', 'vcsim'],
  async run(ctx) {
    const small = ctx.quick ? 64 * MiB : 256 * MiB;
    const large = ctx.quick ? 512 * MiB : 2 * GiB;
    const quad = ctx.quick ? 256 * MiB : GiB;
    // One round in --quick: a peak is one number per fresh worker, and three workers per round cost time.
    const rounds = ctx.quick ? 1 : ctx.rounds;
    const server = await startCaseServer(ctx, {
      groups: [
        { name: 'small', count: 1, size: small },
        { name: 'large', count: 1, size: large },
        { name: 'quad', count: 4, size: quad },
      ],
    });
    const variants = {
      small: { label: `1 × ${sizeLabel(small)}`, items: [server.item('small-1')] },
      large: { label: `1 × ${sizeLabel(large)}`, items: [server.item('large-1')] },
      quad: { label: `4 × ${sizeLabel(quad)} at once`, items: [1, 2, 3, 4].map((i) => server.item(`quad-${i}`)) },
    };
    type Variant = keyof typeof variants;
    const peaks: Record<Variant, number[]> = { small: [], large: [], quad: [] };
    const idle: number[] = [];
    const order: Variant[] = ['small', 'large', 'quad'];
    let command = '';
    try {
      for (let round = 0; round < rounds; round++) {
        // Rotate, so that no variant always runs first (or right after the biggest).
        const rotated = [...order.slice(round % 3), ...order.slice(0, round % 3)];
        for (const v of rotated) {
          await syncDisk();
          const rig = await startCldl(ctx, server, `memory-${v}-${round}`, { profile: round === 0 });
          command = rig.worker.command;
          try {
            idle.push((await rig.worker.sample()).peakRss);
            const run = await rig.download(variants[v].items);
            peaks[v].push(run.worker.peakRss);
          } finally {
            await rig.stop();
          }
        }
      }
      const r = ctx.report;
      const s = ctx.server;
      const mib = (xs: number[]) => xs.map((x) => x / MiB);
      const cap = { max: 150, text: '≤ 150 MiB' };
      r.note(`case 2 (${s}): the worker ran as \`${command}\``);
      r.add(2, s, 'worker RSS when ready (idle)', 'MiB', mib(idle));
      r.add(2, s, `worker peak RSS, ${variants.small.label}`, 'MiB', mib(peaks.small), cap);
      r.add(2, s, `worker peak RSS, ${variants.large.label}`, 'MiB', mib(peaks.large), cap);
      r.add(2, s, `worker peak RSS, ${variants.quad.label}`, 'MiB', mib(peaks.quad), cap);
      r.add(2, s, `peak RSS ${sizeLabel(large)} / ${sizeLabel(small)}`, 'ratio', pairedRatios(peaks.large, peaks.small), { min: 0.9, max: 1.1, text: '0.90–1.10' });
    } finally {
      await server.stop();
    }
  },
};
