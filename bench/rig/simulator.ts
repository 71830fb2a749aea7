import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnJsonProcess } from './processes.ts';
import { itemLookup, type BenchServer, type Protocol, type ServerSpec } from './server.ts';
import type { SimulatorProcessConfig, SimulatorProcessReady } from './simulator-process.ts';

/** Starts bench/rig/simulator-process.ts (on `cores`) and waits until every checksum is computed. */
export async function startBenchSimulator(protocol: Protocol, spec: ServerSpec, scratch: string, cores?: string): Promise<BenchServer> {
  const config: SimulatorProcessConfig = {
    tls: protocol === 'https',
    groups: spec.groups,
    prepareDelayMs: spec.prepareDelayMs ?? 20,
    // Prepared sessions wait for curl through several cldl runs: idle expiry must not end them.
    sessionIdleTimeoutMs: 3_600_000,
    faults: spec.faults ?? [],
  };
  const proc = spawnJsonProcess(path.join(import.meta.dirname, 'simulator-process.ts'), { cores, env: { CLDL_BENCH_SIMULATOR: JSON.stringify(config) } });
  const ready = (await proc.waitFor((l) => typeof l.url === 'string', 300_000)) as unknown as SimulatorProcessReady;
  let caFile: string | undefined;
  if (ready.certPem) {
    caFile = path.join(scratch, `simulator-${proc.pid}.pem`);
    await writeFile(caFile, ready.certPem);
  }
  const items = ready.items.map((i) => ({ ...i, verifiable: true }));
  return {
    name: protocol === 'https' ? 'sim-https' : 'sim-http',
    protocol,
    url: ready.url,
    api: 'api',
    credentials: ready.credentials,
    certPem: ready.certPem,
    caFile,
    pid: proc.pid,
    items,
    item: itemLookup(items),
    async stop() {
      await proc.stop();
    },
  };
}
