import { rm } from 'node:fs/promises';
import path from 'node:path';
import { curlOne } from '../rig/curl.ts';
import { settle, syncFile } from '../rig/disk.ts';
import { PreparedSessions } from '../rig/prepared.ts';
import { sampleProcess } from '../rig/processes.ts';
import { alternate, mbPerSecond, pairedRatios } from '../rig/stats.ts';
import { cpuPerGB, GiB, MiB, sizeLabel, startCaseServer, startCldl, type BenchCase } from './context.ts';

/**
 * Case 1: one large file, a whole cldl job (enqueue → verified, durable file renamed into place,
 * job completed) against `curl -o` of the same data URL, alternating, each after the page cache
 * settled. curl writes without fsync; cldl makes the file durable, so the fdatasync that would give
 * curl's file the same guarantee is timed too, as a second reference. CPU is counted for the whole
 * client process (every thread) and for the server.
 */
export const oneFile: BenchCase = {
  id: 1,
  title: 'one large file: cldl job vs curl -o',
  servers: () => ['vcsim', 'sim-https'],
  async run(ctx) {
    const size = ctx.quick ? 512 * MiB : 2 * GiB;
    const server = await startCaseServer(ctx, { groups: [{ name: 'one', count: 1, size }] });
    const prepared = new PreparedSessions(server);
    let rig: Awaited<ReturnType<typeof startCldl>> | undefined;
    try {
      const item = server.item('one-1');
      const [file] = await prepared.prepare([item]);
      rig = await startCldl(ctx, server, 'one-file');
      const cldl = { ms: [] as number[], cpu: [] as number[], serverCpu: [] as number[] };
      const curl = { ms: [] as number[], cpu: [] as number[], serverCpu: [] as number[], syncMs: [] as number[], peakRss: [] as number[] };
      const out = path.join(ctx.scratch, 'curl.bin');
      await alternate(ctx.rounds, {
        cldl: async () => {
          await settle(ctx.settleMs);
          const serverBefore = await sampleProcess(server.pid);
          const run = await rig!.download([item]);
          cldl.serverCpu.push((await sampleProcess(server.pid)).cpuMs - serverBefore.cpuMs);
          cldl.ms.push(run.ms);
          cldl.cpu.push(run.workerCpuMs);
        },
        curl: async () => {
          await prepared.keepAlive();
          await settle(ctx.settleMs);
          const serverBefore = await sampleProcess(server.pid);
          const run = await curlOne(file!, out, server.caFile, ctx.cores.client);
          curl.serverCpu.push((await sampleProcess(server.pid)).cpuMs - serverBefore.cpuMs);
          curl.ms.push(run.ms);
          curl.cpu.push(run.cpuMs);
          curl.peakRss.push(run.peakRss);
          curl.syncMs.push(await syncFile(out));
          await rm(out);
        },
      });
      const workerPeak = (await rig.worker.sample()).peakRss;
      const r = ctx.report;
      const s = ctx.server;
      const what = sizeLabel(size);
      const cldlMBs = cldl.ms.map((ms) => mbPerSecond(size, ms));
      const curlMBs = curl.ms.map((ms) => mbPerSecond(size, ms));
      const curlSyncedMBs = curl.ms.map((ms, i) => mbPerSecond(size, ms + curl.syncMs[i]!));
      const cldlCpu = cldl.cpu.map((c) => cpuPerGB(c, size));
      const curlCpu = curl.cpu.map((c) => cpuPerGB(c, size));
      r.add(1, s, `cldl job, ${what}`, 'MB/s', cldlMBs);
      r.add(1, s, `curl -o, ${what}`, 'MB/s', curlMBs);
      r.add(1, s, 'cldl / curl', 'ratio', pairedRatios(cldlMBs, curlMBs), { min: 0.6, text: '≥ 0.60' });
      r.add(1, s, 'curl -o + fdatasync', 'MB/s', curlSyncedMBs);
      r.add(1, s, 'cldl / (curl + fdatasync)', 'ratio', pairedRatios(cldlMBs, curlSyncedMBs));
      r.add(1, s, 'cldl worker CPU per GB', 'CPU s', cldlCpu);
      r.add(1, s, 'curl CPU per GB', 'CPU s', curlCpu);
      r.add(1, s, 'cldl CPU / curl CPU', 'ratio', pairedRatios(cldlCpu, curlCpu), { max: 2.5, text: '≤ 2.5' });
      r.add(1, s, 'server CPU per GB, cldl runs', 'CPU s', cldl.serverCpu.map((c) => cpuPerGB(c, size)));
      r.add(1, s, 'server CPU per GB, curl runs', 'CPU s', curl.serverCpu.map((c) => cpuPerGB(c, size)));
      r.add(1, s, 'cldl worker peak RSS over the case', 'MiB', [workerPeak / MiB]);
      r.add(1, s, 'curl peak RSS', 'MiB', curl.peakRss.map((b) => b / MiB));
    } finally {
      await rig?.stop();
      await prepared.close();
      await server.stop();
    }
  },
};
