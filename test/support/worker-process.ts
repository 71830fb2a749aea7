import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { DownloadWorkerOptions } from '../../src/orchestrator/index.ts';
// The bench's JSON-lines process helper, one copy for both.
import { spawnJsonProcess } from '../../bench/rig/processes.ts';
import { repoRoot } from './shared-tools.ts';

export interface WorkerProcess {
  child: ChildProcess;
  /** The JSON log lines so far (the most recent 5000). */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line that `match` accepts. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface WorkerProcessConfig {
  redisUrl: string;
  prefix: string;
  root: string;
  vcenter: { url: string; username: string; password: string; api: 'rest' | 'api' };
  worker: Omit<DownloadWorkerOptions, 'redis' | 'prefix' | 'downloadRoot' | 'vcenters' | 'logger'>;
}

const WAIT_MS = 20_000;

/** Starts test/fixtures/worker-process.ts under the project's Node and waits until it is ready. */
export async function startWorkerProcess(config: WorkerProcessConfig): Promise<WorkerProcess> {
  const proc = spawnJsonProcess(path.join(repoRoot, 'test/fixtures/worker-process.ts'), {
    env: { CLDL_TEST_WORKER: JSON.stringify(config) },
  });
  const { child } = proc;
  await proc.waitFor((l) => l.event === 'ready', WAIT_MS);
  return {
    child,
    lines: proc.lines,
    waitFor: (match, timeoutMs = WAIT_MS) => proc.waitFor(match, timeoutMs),
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill(signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
}
