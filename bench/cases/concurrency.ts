import { rm } from 'node:fs/promises';
import path from 'node:path';
import { curlProcesses } from '../rig/curl.ts';
import { settle } from '../rig/disk.ts';
import { PreparedSessions } from '../rig/prepared.ts';
import { alternate, mbPerSecond, pairedRatios } from '../rig/stats.ts';
import { MiB, sizeLabel, startCaseServer, startCldl, type BenchCase } from './context.ts';

/** Case 3: four items at once, one cldl worker against four curl processes started together. */
export const concurrency: BenchCase = {
  id: 3,
  title: 'four items at once: cldl vs four parallel curls',
  servers: (quick) => (quick ? [] : ['vcsim', 'sim-https']),
  async run(ctx) {
    const size = ctx.quick ? 128 * MiB : 512 * MiB;
    const total = 4 * size;
    const server = await startCaseServer(ctx, { groups: [{ name: 'four', count: 4, size }] });
    const prepared = new PreparedSessions(server);
    let rig: Awaited<ReturnType<typeof startCldl>> | undefined;
    try {
      const items = [1, 2, 3, 4].map((i) => server.item(`four-${i}`));
      const files = await prepared.prepare(items);
      const outputs = files.map((_, i) => path.join(ctx.scratch, `curl-${i}.bin`));
      rig = await startCldl(ctx, server, 'concurrency');
      const cldl: number[] = [];
      const curl: number[] = [];
      await alternate(ctx.rounds, {
        cldl: async () => {
          await settle(ctx.settleMs);
          const run = await rig!.download(items);
          cldl.push(mbPerSecond(total, run.ms));
        },
        curl: async () => {
          await prepared.keepAlive();
          await settle(ctx.settleMs);
          const run = await curlProcesses(files, outputs, server.caFile, ctx.cores.client);
          curl.push(mbPerSecond(total, run.ms));
          await Promise.all(outputs.map((o) => rm(o)));
        },
      });
      const r = ctx.report;
      const s = ctx.server;
      r.add(3, s, `cldl, 4 × ${sizeLabel(size)} aggregate`, 'MB/s', cldl);
      r.add(3, s, `4 curl processes aggregate`, 'MB/s', curl);
      r.add(3, s, 'cldl / 4 curls', 'ratio', pairedRatios(cldl, curl), { min: 0.9, text: '≥ 0.90' });
    } finally {
      await rig?.stop();
      await prepared.close();
      await server.stop();
    }
  },
};
