import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sampleProcess, spawnJsonProcess, type JsonProcess, type ProcSample } from './processes.ts';
import type { BenchServer } from './server.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');

/**
 * How the bench starts `cldl worker`, the way a user does:
 * - `npm-start`: what `npm start` runs (the `start` script of package.json: Node, its flags, then
 *   `src/cli/main.ts worker`), read from package.json so the two cannot drift apart.
 * - `bin`: `node src/cli/main.ts worker` with no Node flags, as systemd or a shell starts the
 *   package's bin: whatever V8 settings the worker runs with, it must apply itself.
 * - `dist`: `node dist/cli/main.js worker`, the built bin as the package installs it (run.ts
 *   builds it first). It loads compiled JavaScript instead of type-stripping `src/`, and idles
 *   about 17 MiB lower (bench/experiments/memory-flags.ts, vcsim, 512 MiB: 100 vs 128 MiB idle,
 *   151 vs 168 MiB peak, both with --max-semi-space-size=1).
 *
 * SWITCH (branch bin-flags): until the bin applies its own V8 flags, `bin` and `dist` measure a
 * worker without them (the issue saw 197–205 MiB for 1 GiB that way; 215 here), so the default
 * is `npm-start`. Once bin-flags is merged, make `dist` the default here (or `bin` to stay on the
 * sources): the memory targets are then measured on the command users run. `--worker-start` or
 * CLDL_BENCH_WORKER_START choose per run.
 */
export type WorkerStartMode = 'npm-start' | 'bin' | 'dist';
export const WORKER_START_MODES: readonly WorkerStartMode[] = ['npm-start', 'bin', 'dist'];
export const DEFAULT_WORKER_START: WorkerStartMode = 'npm-start';

/** The Node flags and script of a start mode. */
export function workerCommand(mode: WorkerStartMode): { nodeFlags: string[]; script: string } {
  switch (mode) {
    case 'npm-start': {
      const start = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
      const m = /^node((?:\s+--\S+)*)\s+(\S+\.ts)\s+worker$/.exec(start.trim());
      if (!m) throw new Error(`package.json's start script is not "node [--flags] SCRIPT worker": ${start}`);
      return { nodeFlags: m[1]!.trim().split(/\s+/).filter(Boolean), script: path.join(REPO, m[2]!) };
    }
    case 'bin':
      return { nodeFlags: [], script: path.join(REPO, 'src', 'cli', 'main.ts') };
    case 'dist': {
      const script = path.join(REPO, 'dist', 'cli', 'main.js');
      if (!existsSync(script)) throw new Error(`${script} does not exist: npm run build`);
      return { nodeFlags: [], script };
    }
  }
}

export interface BenchWorker {
  process: JsonProcess;
  pid: number;
  /** The admin HTTP server's URL (/metrics). */
  http: string;
  /** What it was started with, for the report. */
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
  /** Replace the mode's Node flags (experiments). */
  nodeFlags?: readonly string[] | undefined;
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
  const profile = o.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${path.dirname(o.cpuProfile)}`, `--cpu-prof-name=${path.basename(o.cpuProfile)}`] : [];
  const nodeArgs = [...(o.nodeFlags ?? nodeFlags), ...profile];
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CLDL_|VCENTER_|REDIS_URL$|NODE_OPTIONS$)/.test(k)));
  const proc = spawnJsonProcess(script, { nodeArgs, args: ['worker'], baseEnv, env: { CLDL_CONFIG: o.configFile }, cwd: path.dirname(o.configFile), cores: o.cores });
  const ready = await proc.waitFor((l) => l.msg === 'cldl worker ready', 60_000);
  return {
    process: proc,
    pid: proc.pid,
    http: String(ready.http),
    command: ['node', ...nodeArgs, path.relative(REPO, script), 'worker'].join(' '),
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
