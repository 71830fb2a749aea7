import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** A bench helper process (simulator, worker, transfer) that speaks JSON lines on stdout. */
export interface JsonProcess {
  child: ChildProcess;
  pid: number;
  lines: Array<Record<string, unknown>>;
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then the exit status. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Extra Node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/** Starts `script` under the project's Node (the bench's own `process.execPath`). */
export function spawnJsonProcess(script: string, options: SpawnOptions = {}): JsonProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
    env: { ...process.env, ...options.env },
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
    // A long run logs thousands of lines nobody will read; keep the recent ones.
    if (lines.length > 5000) lines.splice(0, 1000);
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
    waitFor: (match, timeoutMs = 120_000) =>
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

export interface ProcSample {
  /** Peak resident set size (VmHWM), bytes. */
  peakRss: number;
  rss: number;
  /** User + system CPU time consumed so far, ms. */
  cpuMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Reads /proc/<pid>/status and /proc/<pid>/stat. */
export async function sampleProcess(pid: number): Promise<ProcSample> {
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS'), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
}
