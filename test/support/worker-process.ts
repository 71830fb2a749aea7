import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { DownloadWorkerOptions } from '../../src/orchestrator/index.ts';
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
  const child = spawn(process.execPath, [path.join(repoRoot, 'test/fixtures/worker-process.ts')], {
    env: { ...process.env, CLDL_TEST_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(line);
    for (const w of waiters.splice(0)) {
      if (w.match(line)) w.resolve(line);
      else waiters.push(w);
    }
  });
  const waitFor = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = lines.find(match);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`worker process logged no matching line within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      child.once('exit', (code) => reject(new Error(`worker process exited (${code}) before logging a matching line`)));
    });
  await waitFor((l) => l.event === 'ready');
  return {
    child,
    lines,
    waitFor,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill(signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
}
