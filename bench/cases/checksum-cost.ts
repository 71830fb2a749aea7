import { rm } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import type { DigestAlgorithm } from '../../src/transfer/index.ts';
import { settle } from '../rig/disk.ts';
import { PreparedSessions, type PreparedFile } from '../rig/prepared.ts';
import { spawnJsonProcess } from '../rig/processes.ts';
import type { BenchItem, BenchServer } from '../rig/server.ts';
import { alternate, mbPerSecond, pairedRatios } from '../rig/stats.ts';
import type { TransferProcessConfig, TransferProcessResult } from '../rig/transfer-process.ts';
import { cpuPerGB, GiB, MiB, sizeLabel, startCaseServer, type BenchCase, type CaseContext } from './context.ts';

/**
 * Case 5: what verification costs. cldl has no switch to turn it off (and hashes SHA-1 whether or
 * not a checksum is reported), so an end-to-end "off" does not exist. Measured instead: cldl's
 * transfer layer alone (DownloadPart + downloadFile, one stream, each run in a fresh process on the
 * client's cores) with algorithms ['sha1'] (what every cldl job does) against [] (a plain stream
 * into the same positioned writes), alternating. Both end with the fdatasync.
 */
export const checksumCost: BenchCase = {
  id: 5,
  title: 'checksum cost: transfer layer with SHA-1 vs without',
  servers: (quick) => (quick ? [] : ['vcsim', 'sim-https']),
  async run(ctx) {
    const size = ctx.quick ? 256 * MiB : GiB;
    const server = await startCaseServer(ctx, { groups: [{ name: 'sum', count: 1, size }] });
    const prepared = new PreparedSessions(server);
    try {
      const item = server.item('sum-1');
      const [file] = await prepared.prepare([item]);
      const on: Array<{ ms: number; cpuMs: number }> = [];
      const off: Array<{ ms: number; cpuMs: number }> = [];
      await alternate(ctx.rounds, {
        on: async () => void on.push(await transferOnce(ctx, server, prepared, item, file!, ['sha1'])),
        off: async () => void off.push(await transferOnce(ctx, server, prepared, item, file!, [])),
      });
      const r = ctx.report;
      const s = ctx.server;
      r.add(5, s, `transfer ${sizeLabel(size)}, SHA-1 on the fly`, 'MB/s', on.map((x) => mbPerSecond(size, x.ms)));
      r.add(5, s, `transfer ${sizeLabel(size)}, no hash`, 'MB/s', off.map((x) => mbPerSecond(size, x.ms)));
      r.add(5, s, 'transfer CPU per GB, SHA-1 on the fly', 'CPU s', on.map((x) => cpuPerGB(x.cpuMs, size)));
      r.add(5, s, 'transfer CPU per GB, no hash', 'CPU s', off.map((x) => cpuPerGB(x.cpuMs, size)));
      r.add(
        5,
        s,
        'verification cost (time on / time off − 1)',
        'fraction',
        pairedRatios(
          on.map((x) => x.ms),
          off.map((x) => x.ms),
        ).map((x) => x - 1),
        { max: 0.1, text: '≤ 0.10' },
      );
    } finally {
      await prepared.close();
      await server.stop();
    }
  },
};

async function transferOnce(
  ctx: CaseContext,
  server: BenchServer,
  prepared: PreparedSessions,
  item: BenchItem,
  file: PreparedFile,
  algorithms: DigestAlgorithm[],
): Promise<{ ms: number; cpuMs: number }> {
  await prepared.keepAlive();
  const out = path.join(ctx.scratch, 'transfer.bin');
  const config: TransferProcessConfig = {
    url: server.url,
    api: server.api,
    credentials: server.credentials,
    ca: server.certPem,
    endpoint: file.endpoint,
    size: file.size,
    path: out,
    algorithms,
    highWaterMark: loadConfig({ env: {} }).transfer.highWaterMarkBytes,
  };
  await settle(ctx.settleMs);
  const proc = spawnJsonProcess(path.join(import.meta.dirname, '..', 'rig', 'transfer-process.ts'), {
    cores: ctx.cores.client,
    env: { CLDL_BENCH_TRANSFER: JSON.stringify(config) },
  });
  const result = (await proc.waitFor((l) => typeof l.ms === 'number', 600_000)) as unknown as TransferProcessResult;
  await proc.stop();
  await rm(out);
  if (algorithms.includes('sha1') && result.digests.sha1 !== item.sha1) throw new Error(`SHA-1 ${result.digests.sha1} is not the file's ${item.sha1}`);
  // process.cpuUsage() over the transfer alone: every thread (thread-pool writes, GC), not start-up.
  return { ms: result.ms, cpuMs: result.cpuMs };
}
