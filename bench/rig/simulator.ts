import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnJsonProcess, type JsonProcess } from './processes.ts';
import type { SimulatorProcessConfig, SimulatorProcessReady } from './simulator-process.ts';

export type Protocol = 'http' | 'https';

export interface BenchSimulator extends SimulatorProcessReady {
  process: JsonProcess;
  protocol: Protocol;
  /** The certificate as a file, for curl's --cacert (https only). */
  caFile: string | undefined;
  item(name: string): SimulatorProcessReady['items'][number];
  stop(): Promise<void>;
}

export interface SimulatorGroups {
  groups: SimulatorProcessConfig['groups'];
  /** Default 20 ms a step, the simulator's own default. */
  prepareDelayMs?: number;
}

/** Starts bench/rig/simulator-process.ts and waits until every checksum is computed. */
export async function startBenchSimulator(protocol: Protocol, spec: SimulatorGroups, scratch: string): Promise<BenchSimulator> {
  const config: SimulatorProcessConfig = {
    tls: protocol === 'https',
    groups: spec.groups,
    prepareDelayMs: spec.prepareDelayMs ?? 20,
    // Prepared sessions wait for curl through several cldl runs: idle expiry must not end them.
    sessionIdleTimeoutMs: 3_600_000,
  };
  const proc = spawnJsonProcess(path.join(import.meta.dirname, 'simulator-process.ts'), { env: { CLDL_BENCH_SIMULATOR: JSON.stringify(config) } });
  const ready = (await proc.waitFor((l) => typeof l.url === 'string', 300_000)) as unknown as SimulatorProcessReady;
  let caFile: string | undefined;
  if (ready.certPem) {
    caFile = path.join(scratch, `simulator-${proc.pid}.pem`);
    await writeFile(caFile, ready.certPem);
  }
  const byName = new Map(ready.items.map((i) => [i.name, i]));
  return {
    ...ready,
    process: proc,
    protocol,
    caFile,
    item(name) {
      const i = byName.get(name);
      if (!i) throw new Error(`the bench simulator has no item ${name}`);
      return i;
    },
    async stop() {
      await proc.stop();
    },
  };
}
