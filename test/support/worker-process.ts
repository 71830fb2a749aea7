import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { DownloadWorkerOptions } from '../../src/orchestrator/index.ts';
import { spawnJsonProcess } from './json-process.ts';
import { repoRoot } from './shared-tools.ts';

export interface WorkerProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
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

/** Starts test/fixtures/worker-process.ts under the project's Node and waits until it is ready. */
export async function startWorkerProcess(config: WorkerProcessConfig): Promise<WorkerProcess> {
  const proc = spawnJsonProcess(path.join(repoRoot, 'test/fixtures/worker-process.ts'), {
    env: { CLDL_TEST_WORKER: JSON.stringify(config) },
    waitTimeoutMs: 20_000,
  });
  const { child } = proc;
  await proc.waitFor((l) => l.event === 'ready');
  return {
    child,
    lines: proc.lines,
    waitFor: (match, timeoutMs) => proc.waitFor(match, timeoutMs),
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill(signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
}
