import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { DigestAlgorithm } from '../../src/transfer/index.ts';
import { settle } from '../rig/disk.ts';
import { PreparedSessions, type PreparedFile } from '../rig/prepared.ts';
import { spawnJsonProcess } from '../rig/processes.ts';
import { startBenchSimulator, type BenchSimulator } from '../rig/simulator.ts';
import { alternate, mbPerSecond, pairedRatios } from '../rig/stats.ts';
import type { TransferProcessConfig, TransferProcessResult } from '../rig/transfer-process.ts';
import { GiB, MiB, sizeLabel, type BenchCase, type CaseContext } from './context.ts';

/**
 * Case 5: what verification costs. cldl has no switch to turn it off, and the simulator always
 * reports a checksum (and cldl hashes SHA-1 whether or not one is reported), so an end-to-end
 * "off" does not exist. Measured instead: cldl's transfer layer alone (DownloadPart + downloadFile,
 * each run in a fresh process) with algorithms ['sha1'] (what every cldl job does) against []
 * (a plain stream into the same positioned writes), alternating. Both end with the fdatasync.
 */
export const checksumCost: BenchCase = {
  id: 5,
  title: 'checksum cost: transfer layer with SHA-1 vs without',
  async run(ctx) {
    const size = ctx.quick ? 512 * MiB : 2 * GiB;
    const sim = await startBenchSimulator(ctx.protocol, { groups: [{ name: 'sum', count: 1, size }] }, ctx.scratch);
    const prepared = new PreparedSessions(sim);
    try {
      const [file] = await prepared.prepare([sim.item('sum-1')]);
      const on: number[] = [];
      const off: number[] = [];
      await alternate(ctx.rounds, {
        on: async () => void on.push(await transferOnce(ctx, sim, prepared, file!, ['sha1'])),
        off: async () => void off.push(await transferOnce(ctx, sim, prepared, file!, [])),
      });
      const r = ctx.report;
      const p = ctx.protocol;
      const onMBs = on.map((ms) => mbPerSecond(size, ms));
      const offMBs = off.map((ms) => mbPerSecond(size, ms));
      r.add(5, p, `transfer ${sizeLabel(size)}, SHA-1 on the fly`, 'MB/s', onMBs);
      r.add(5, p, `transfer ${sizeLabel(size)}, no hash`, 'MB/s', offMBs);
      r.add(
        5,
        p,
        'verification cost (time on / time off − 1)',
        'fraction',
        pairedRatios(on, off).map((x) => x - 1),
        { max: 0.1, text: '≤ 0.10' },
      );
    } finally {
      await prepared.close();
      await sim.stop();
    }
  },
};

async function transferOnce(ctx: CaseContext, sim: BenchSimulator, prepared: PreparedSessions, file: PreparedFile, algorithms: DigestAlgorithm[]): Promise<number> {
  await prepared.keepAlive();
  const out = path.join(ctx.scratch, 'transfer.bin');
  const config: TransferProcessConfig = {
    url: sim.url,
    credentials: sim.credentials,
    ca: sim.certPem,
    endpoint: file.endpoint,
    size: file.size,
    path: out,
    algorithms,
    highWaterMark: ctx.settings.job.transfer.highWaterMark,
  };
  await settle(ctx.settleMs);
  const proc = spawnJsonProcess(path.join(import.meta.dirname, '..', 'rig', 'transfer-process.ts'), { env: { CLDL_BENCH_TRANSFER: JSON.stringify(config) } });
  const result = (await proc.waitFor((l) => typeof l.ms === 'number', 600_000)) as unknown as TransferProcessResult;
  await proc.stop();
  await rm(out);
  if (algorithms.includes('sha1')) {
    // The hashed run must hash the right bytes: vCenter's checksum_info is set once the file was served.
    const info = await prepared.vcenter.files.get(file.sessionId, file.file);
    if (info.checksumInfo?.checksum.toLowerCase() !== result.digests.sha1) throw new Error(`SHA-1 ${result.digests.sha1} is not the simulator's ${info.checksumInfo?.checksum}`);
  }
  return result.ms;
}
