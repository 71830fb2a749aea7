import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A helper process (a worker, the simulator, a bench transfer) that speaks JSON lines on stdout. */
export interface JsonProcess {
  child: ChildProcess;
  pid: number;
  /** The JSON lines so far (the most recent `keepLines`). */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line that `match` accepts, seen already or still to come. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, SIGKILL after `timeoutMs`, then the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Extra Node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** A long run logs thousands of lines nobody will read: keep only the most recent ones. */
  keepLines?: number;
  /** `waitFor`'s default. */
  waitTimeoutMs?: number;
}

/** Starts `script` under the project's Node (this process's own `process.execPath`). */
export function spawnJsonProcess(script: string, options: SpawnOptions = {}): JsonProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const keep = options.keepLines ?? Infinity;
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
    if (lines.length > keep) lines.splice(0, lines.length - keep);
    for (const w of waiters.splice(0)) {
      if (w.match(line)) w.resolve(line);
      else waiters.push(w);
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    pid: child.pid!,
    lines,
    waitFor: (match, timeoutMs = options.waitTimeoutMs ?? 120_000) =>
      new Promise((resolve, reject) => {
        const seen = lines.find(match);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`${script} logged no matching line within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(([code]) => {
          clearTimeout(timer);
          reject(new Error(`${script} exited (${code}) before logging a matching line`));
        });
      }),
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
