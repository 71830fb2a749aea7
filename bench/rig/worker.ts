import path from 'node:path';
import { sampleProcess, spawnJsonProcess, type JsonProcess, type ProcSample } from './processes.ts';
import { WORKER_NODE_FLAGS } from '../../src/service/node-flags.ts';
import type { BenchSimulator } from './simulator.ts';
import type { WorkerProcessConfig } from './worker-process.ts';
import type { WorkerSettings } from './worker-settings.ts';

export interface BenchWorker {
  process: JsonProcess;
  pid: number;
  sample(): Promise<ProcSample>;
  stop(): Promise<void>;
}

export interface WorkerStart {
  sim: BenchSimulator;
  redisUrl: string;
  prefix: string;
  root: string;
  settings: WorkerSettings;
  /** Write a V8 CPU profile of the whole process life here (a .cpuprofile path). */
  cpuProfile?: string | undefined;
  env?: Record<string, string> | undefined;
  /** Node flags; production's (WORKER_NODE_FLAGS) unless given. */
  nodeFlags?: readonly string[] | undefined;
}

/** Starts bench/rig/worker-process.ts and waits until BullMQ is ready to hand it jobs. */
export async function startBenchWorker(o: WorkerStart): Promise<BenchWorker> {
  const config: WorkerProcessConfig = {
    redisUrl: o.redisUrl,
    prefix: o.prefix,
    root: o.root,
    vcenter: { url: o.sim.url, ...o.sim.credentials, api: 'api', ca: o.sim.certPem ?? undefined },
    worker: o.settings,
  };
  const profile = o.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${path.dirname(o.cpuProfile)}`, `--cpu-prof-name=${path.basename(o.cpuProfile)}`] : [];
  const nodeArgs = [...(o.nodeFlags ?? WORKER_NODE_FLAGS), ...profile];
  const proc = spawnJsonProcess(path.join(import.meta.dirname, 'worker-process.ts'), { nodeArgs, env: { ...o.env, CLDL_BENCH_WORKER: JSON.stringify(config) } });
  await proc.waitFor((l) => l.event === 'ready', 60_000);
  return {
    process: proc,
    pid: proc.pid,
    sample: () => sampleProcess(proc.pid),
    async stop() {
      const code = await proc.stop();
      if (code !== 0) throw new Error(`the bench worker exited with ${code}`);
    },
  };
}
