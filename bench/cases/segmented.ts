import { rm } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import { curlOne } from '../rig/curl.ts';
import { syncDisk } from '../rig/disk.ts';
import { PreparedSessions } from '../rig/prepared.ts';
import { alternate, mbPerSecond, pairedRatios } from '../rig/stats.ts';
import { MiB, sizeLabel, startCaseServer, startCldl, type BenchCase } from './context.ts';

/** The per-connection cap of the issue (goal 4): a WAN path or proxy that shapes each connection. */
const PER_CONNECTION = 16 * MiB;

/**
 * Case 6: a link that shapes each connection. The simulator caps every data response at 16 MiB/s
 * on its own (`{ kind: 'bandwidth', perConnection: true }`); cldl fetches a file of
 * transfer.segments.minBytes or more over transfer.segments.connections ranges when the endpoint
 * honours Range, curl fetches one stream. A whole cldl job against one `curl -o`.
 */
export const segmented: BenchCase = {
  id: 6,
  title: 'segmented download through a 16 MiB/s-per-connection cap: cldl vs one curl stream',
  servers: () => ['sim-http'],
  async run(ctx) {
    if (ctx.server === 'vcsim') throw new Error('case 6 needs Range and a bandwidth fault: the simulator, not vcsim');
    const size = ctx.quick ? 96 * MiB : 192 * MiB;
    const { segments } = loadConfig({ env: {} }).transfer;
    const server = await startCaseServer(ctx, {
      groups: [{ name: 'shaped', count: 1, size }],
      faults: [{ kind: 'bandwidth', bytesPerSecond: PER_CONNECTION, perConnection: true }],
    });
    const prepared = new PreparedSessions(server);
    let rig: Awaited<ReturnType<typeof startCldl>> | undefined;
    try {
      const item = server.item('shaped-1');
      const [file] = await prepared.prepare([item]);
      rig = await startCldl(ctx, server, 'segmented');
      const cldl: number[] = [];
      const curl: number[] = [];
      const out = path.join(ctx.scratch, 'curl.bin');
      await alternate(ctx.rounds, {
        cldl: async () => {
          await syncDisk(); // no pause: at 16 MiB/s a connection the page cache's state does not show
          const run = await rig!.download([item]);
          cldl.push(mbPerSecond(size, run.ms));
        },
        curl: async () => {
          await prepared.keepAlive();
          await syncDisk(); // no pause: at 16 MiB/s a connection the page cache's state does not show
          const run = await curlOne(file!, out, server.caFile, ctx.cores.client);
          curl.push(mbPerSecond(size, run.ms));
          await rm(out);
        },
      });
      const r = ctx.report;
      const s = ctx.server;
      const what = `${sizeLabel(size)}, ${PER_CONNECTION / MiB} MiB/s per connection`;
      r.add(6, s, `cldl job (${segments.connections} segments), ${what}`, 'MB/s', cldl);
      r.add(6, s, `curl -o, one stream`, 'MB/s', curl);
      r.add(6, s, 'cldl / curl', 'ratio', pairedRatios(cldl, curl), { min: 3, text: '≥ 3' });
    } finally {
      await rig?.stop();
      await prepared.close();
      await server.stop();
    }
  },
};
