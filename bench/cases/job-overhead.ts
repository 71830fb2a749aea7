import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { curlParallel } from '../rig/curl.ts';
import { removeTree, syncDisk } from '../rig/disk.ts';
import { PreparedSessions } from '../rig/prepared.ts';
import { alternate, pairedRatios } from '../rig/stats.ts';
import { startCaseServer, startCldl, type BenchCase } from './context.ts';

/**
 * Case 4: many tiny items, where the per-job cost is everything: each cldl job makes its vAPI
 * calls (item, session create, file list, prepare, polls, file get, keep-alive, delete), its Redis
 * writes, an fsync and a rename. curl gets the same data URLs ready-made (sessions prepared in
 * advance), `-Z --parallel-max 8`. The simulator prepares at once here (no prepare delay), and so
 * does vcsim, so what is measured is cldl's own work and waiting, not vCenter's. Against vcsim,
 * 150 plain one-file items, as the issue measured them (no manifest: cldl hashes, nothing vouches).
 */
export const jobOverhead: BenchCase = {
  id: 4,
  title: 'job overhead: many 64 KiB items',
  servers: (quick) => (quick ? ['sim-http', 'vcsim'] : ['sim-http', 'sim-https', 'vcsim']),
  async run(ctx) {
    const count = ctx.server === 'vcsim' ? 150 : ctx.quick ? 200 : 1000;
    const size = 64 * 1024;
    const server = await startCaseServer(ctx, { groups: [{ name: 'tiny', count, size }], prepareDelayMs: 0, manifests: false });
    const prepared = new PreparedSessions(server);
    let rig: Awaited<ReturnType<typeof startCldl>> | undefined;
    try {
      const items = server.items;
      const files = await prepared.prepare(items);
      rig = await startCldl(ctx, server, 'job-overhead');
      const cldl: number[] = [];
      const cldlCpu: number[] = [];
      const curl: number[] = [];
      await alternate(ctx.rounds, {
        cldl: async () => {
          await syncDisk();
          const run = await rig!.download(items);
          cldl.push(count / (run.ms / 1000));
          cldlCpu.push(run.workerCpuMs / count);
        },
        curl: async (round) => {
          await prepared.keepAlive();
          const dir = path.join(ctx.scratch, `curl-${round}`);
          await mkdir(dir);
          await syncDisk();
          const run = await curlParallel(files, files.map((f) => path.join(dir, f.file)), server.caFile, 8, ctx.scratch, ctx.cores.client);
          curl.push(count / (run.ms / 1000));
          await removeTree(dir);
        },
      });
      const r = ctx.report;
      const s = ctx.server;
      r.add(4, s, `cldl, ${count} × 64 KiB jobs end to end`, 'items/s', cldl, { min: 250, text: '≥ 250 items/s' });
      r.add(4, s, 'cldl worker CPU per item', 'ms', cldlCpu);
      r.add(4, s, `curl -Z --parallel-max 8, prepared URLs`, 'items/s', curl);
      r.add(4, s, 'cldl / curl', 'ratio', pairedRatios(cldl, curl));
    } finally {
      await rig?.stop();
      await prepared.close();
      await server.stop();
    }
  },
};
