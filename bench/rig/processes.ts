import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { taskset } from './pinning.ts';

/** A bench helper process (server, worker, transfer) that speaks JSON lines on stdout. */
export interface JsonProcess {
  child: ChildProcess;
  pid: number;
  /** The most recent JSON lines (long runs log thousands nobody reads). */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line that `match` accepts, seen already or still to come. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, SIGKILL after `timeoutMs`, then the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Node flags before the script, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[] | undefined;
  /** Arguments after the script, e.g. `worker`. */
  args?: readonly string[] | undefined;
  /** The whole environment of the process (default: this one's, plus `env`). */
  baseEnv?: NodeJS.ProcessEnv | undefined;
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  /** Cores the process may run on (taskset -c), or any. */
  cores?: string | undefined;
}

const KEEP_LINES = 5000;

/** Starts `script` under the project's Node (this process's own `process.execPath`). */
export function spawnJsonProcess(script: string, o: SpawnOptions = {}): JsonProcess {
  return spawnJsonCommand(process.execPath, [...(o.nodeArgs ?? []), script, ...(o.args ?? [])], o);
}

/** Starts any command that prints JSON lines (taskset execs it: the PID is the command's own). */
export function spawnJsonCommand(command: string, args: readonly string[], o: SpawnOptions = {}): JsonProcess {
  const cmd = taskset(o.cores, command, args);
  const child = spawn(cmd.command, cmd.args, {
    env: { ...(o.baseEnv ?? process.env), ...o.env },
    cwd: o.cwd,
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
    if (lines.length > KEEP_LINES) lines.splice(0, lines.length - KEEP_LINES);
    for (const w of waiters.splice(0)) {
      if (w.match(line)) w.resolve(line);
      else waiters.push(w);
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const name = `${command} ${args.join(' ')}`.slice(0, 120);
  return {
    child,
    pid: child.pid!,
    lines,
    waitFor: (match, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const seen = lines.find(match);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`${name} logged no matching line within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(([code]) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before logging a matching line`));
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
  /** User + system CPU time consumed so far, every thread, ms. */
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

/**
 * CPU time (ms) of the whole machine (busy, every core) and of this process with its children that
 * have exited: their difference over a case is what other work took meanwhile (kernel threads
 * writing back its files included).
 */
export async function cpuAccount(): Promise<{ machineMs: number; oursMs: number }> {
  const [stat, self] = await Promise.all([readFile('/proc/stat', 'utf8'), readFile('/proc/self/stat', 'utf8')]);
  // cpu  user nice system idle iowait irq softirq steal …
  const f = stat.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user, nice, system: interrupts and softirqs (loopback TCP runs there) belong to no process.
  const busy = f[0]! + f[1]! + f[2]!;
  // utime stime cutime cstime: fields 14–17.
  const s = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
  return { machineMs: busy * TICK_MS, oursMs: (s[11]! + s[12]! + s[13]! + s[14]!) * TICK_MS };
}
