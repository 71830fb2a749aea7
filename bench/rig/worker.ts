import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sampleProcess, spawnJsonProcess, type JsonProcess, type ProcSample } from './processes.ts';
import type { BenchServer } from './server.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');

/**
 * How the bench starts `cldl worker`, the way a user does. The worker applies its own Node flags
 * (src/cli/reexec-with-node-flags.ts: it re-executes itself in place, same PID, when Node was not
 * given them), so every mode starts plain `node`:
 * - `dist` (default): `node dist/cli/main.js worker`, the package's bin as it installs (run.ts
 *   builds it first, so it is never a stale dist/).
 * - `npm-start`: what `npm start` runs, read from the `start` script of package.json so the two
 *   cannot drift apart (today `exec node dist/cli/main.js worker` after a build: the same as `dist`).
 * - `bin`: `node src/cli/main.ts worker`, the sources type-stripped at start, which costs memory
 *   (bench/experiments/memory-flags.ts, vcsim, 512 MiB, --max-semi-space-size=1 in both: idle 100
 *   MiB from dist/ vs 128 from the sources, peak 151 vs 168).
 *
 * Until branch bin-flags was merged (c92eb4d), the default was `npm-start`, then
 * `node --max-semi-space-size=1 src/cli/main.ts worker`: the only way the worker got its flag.
 */
export type WorkerStartMode = 'dist' | 'npm-start' | 'bin';
export const WORKER_START_MODES: readonly WorkerStartMode[] = ['dist', 'npm-start', 'bin'];
export const DEFAULT_WORKER_START: WorkerStartMode = 'dist';

/** The Node flags and script of a start mode, and whether it runs the build's output. */
export function workerCommand(mode: WorkerStartMode): { nodeFlags: string[]; script: string; built: boolean } {
  const dist = path.join(REPO, 'dist', 'cli', 'main.js');
  switch (mode) {
    case 'npm-start': {
      const start = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
      const m = /^(?:exec\s+)?node((?:\s+--\S+)*)\s+(\S+\.[jt]s)\s+worker$/.exec(start.trim());
      if (!m) throw new Error(`package.json's start script is not "[exec] node [--flags] SCRIPT worker": ${start}`);
      const script = path.join(REPO, m[2]!);
      return { nodeFlags: m[1]!.trim().split(/\s+/).filter(Boolean), script, built: script.startsWith(path.join(REPO, 'dist') + path.sep) };
    }
    case 'bin':
      return { nodeFlags: [], script: path.join(REPO, 'src', 'cli', 'main.ts'), built: false };
    case 'dist':
      return { nodeFlags: [], script: dist, built: true };
  }
}

/** Fails when a built mode's script is missing (run.ts builds first). */
function assertExists(script: string): void {
  if (!existsSync(script)) throw new Error(`${script} does not exist: npm run build`);
}

export interface BenchWorker {
  process: JsonProcess;
  pid: number;
  /** The admin HTTP server's URL (/metrics). */
  http: string;
  /** Its command line once ready (after it re-executed itself with its flags), for the report. */
  command: string;
  sample(): Promise<ProcSample>;
  stop(): Promise<void>;
}

export interface WorkerStart {
  server: BenchServer;
  redisUrl: string;
  prefix: string;
  root: string;
  /** Where the worker's config file goes (its CLDL_CONFIG). */
  configFile: string;
  mode: WorkerStartMode;
  /** Settings beyond the defaults of config/default.json, in its shape (e.g. `{ prepare: { pollMs: 50 } }`). */
  config?: Record<string, unknown> | undefined;
  /**
   * Node flags on the command line (experiments). The worker adds its own flags unless told
   * otherwise: pass CLDL_NODE_FLAGS in `env` (empty for none) to replace them.
   */
  nodeFlags?: readonly string[] | undefined;
  /** More environment for the worker (CLDL_NODE_FLAGS, say); the bench's own cldl variables never reach it. */
  env?: Record<string, string> | undefined;
  /** Write a V8 CPU profile of the whole process life here (a .cpuprofile path). */
  cpuProfile?: string | undefined;
  cores?: string | undefined;
}

/**
 * Starts `cldl worker` (the daemon: workers, admin HTTP on a free port, metrics) configured by a file
 * of its own: config/default.json for everything the bench does not set. The bench's environment
 * reaches it without the variables cldl reads, so nothing from the shell changes what is measured.
 */
export async function startBenchWorker(o: WorkerStart): Promise<BenchWorker> {
  const s = o.server;
  const config = merge(
    {
      downloadRoot: o.root,
      redis: { url: o.redisUrl, prefix: o.prefix },
      http: { host: '127.0.0.1', port: 0 },
      vcenters: { default: { url: s.url, ...s.credentials, api: s.api, ...(s.caFile ? { caFile: s.caFile } : {}) } },
      log: { level: 'info', pretty: 'never' },
    },
    o.config ?? {},
  );
  await writeFile(o.configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const { nodeFlags, script } = workerCommand(o.mode);
  assertExists(script);
  const profile = o.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${path.dirname(o.cpuProfile)}`, `--cpu-prof-name=${path.basename(o.cpuProfile)}`] : [];
  const nodeArgs = [...(o.nodeFlags ?? nodeFlags), ...profile];
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CLDL_|VCENTER_|REDIS_URL$|NODE_OPTIONS$)/.test(k)));
  const proc = spawnJsonProcess(script, { nodeArgs, args: ['worker'], baseEnv, env: { ...o.env, CLDL_CONFIG: o.configFile }, cwd: path.dirname(o.configFile), cores: o.cores });
  const ready = await proc.waitFor((l) => l.msg === 'cldl worker ready', 60_000);
  // What runs now, after the worker re-executed itself with its Node flags (same PID).
  const argv = (await readFile(`/proc/${proc.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  return {
    process: proc,
    pid: proc.pid,
    http: String(ready.http),
    command: ['node', ...argv.slice(1).map((a) => (a.startsWith(REPO + path.sep) ? path.relative(REPO, a) : a))].join(' '),
    sample: () => sampleProcess(proc.pid),
    async stop() {
      const code = await proc.stop();
      if (code !== 0) throw new Error(`cldl worker exited with ${code}`);
    },
  };
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isObject(v) && isObject(cur) ? merge(cur, v) : v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A worker's Prometheus text from its admin server (`http`: the BenchWorker's URL). */
export async function workerMetrics(http: string): Promise<string> {
  return (await fetch(new URL('/metrics', http))).text();
}
