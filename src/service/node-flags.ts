import { ConfigError } from '../config/config-error.ts';

/**
 * Node flags a worker process runs with. `cldl worker` applies them itself, however it is started
 * (the built bin, npm start, the image): src/cli/reexec-with-node-flags.ts re-executes the process
 * with them when Node was not given them. CLDL_NODE_FLAGS replaces them (empty: none); a value an
 * operator gives on Node's command line or in NODE_OPTIONS wins over ours.
 *
 * `--max-semi-space-size=1`: V8's young generation in 1 MiB halves instead of growing to 16 MiB
 * and more. Every socket read makes a Buffer whose bytes live outside the JS heap until a scavenge
 * frees its wrapper; with large halves, scavenges come seldom and tens of MiB of received bytes
 * wait for them. Measured by bench/experiments/memory-flags.ts (1 GiB over HTTP, fresh workers):
 * peak RSS 197 → 142 MiB, with the same MB/s and CPU per GB.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Environment the worker's process starts with (a variable the operator set wins: the re-exec
 * adds only the unset ones). glibc's
 * malloc gives every thread that allocates an arena of its own (up to 8 per core); the thread pool
 * that writes the files and hashes read-backs touches several. `MALLOC_ARENA_MAX=2`, measured by
 * bench case 2 in one session against the same build: peak RSS from vcsim 133/163/166 → 131/151/159
 * MiB (256 MiB, 2 GiB, 4 × 1 GiB at once), over HTTPS 130/133/149 → 125/124/149; speed unchanged.
 * Only where glibc is the C library (elsewhere the variable means nothing).
 */
export function workerEnvironment(glibc = usesGlibc()): Record<string, string> {
  return glibc ? { MALLOC_ARENA_MAX: '2' } : {};
}

function usesGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return typeof header?.glibcVersionRuntime === 'string';
}

/** `--name` or `--name=value`: never a script path or a bare `--`, which would change what Node runs. */
const NODE_OPTION = /^--[A-Za-z0-9][\w-]*(=\S+)?$/;

/** The worker's flags: CLDL_NODE_FLAGS (whitespace-separated; empty for none) when set, else ours. */
export function workerNodeFlags(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const value = env.CLDL_NODE_FLAGS;
  if (value === undefined) return WORKER_NODE_FLAGS;
  const flags = value.split(/\s+/).filter(Boolean);
  const bad = flags.filter((f) => !NODE_OPTION.test(f));
  if (bad.length) throw new ConfigError(bad.map((f) => `CLDL_NODE_FLAGS: ${JSON.stringify(f)} is not a Node option; expected --name or --name=value`));
  return flags;
}

/** What Node runs with: its command-line options, then NODE_OPTIONS' (Node reads both). */
export function nodeFlagsInEffect(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  return [...execArgv, ...nodeOptions.split(/\s+/).filter(Boolean)];
}

/**
 * Those of `wanted` whose option is not among `inEffect` under any value: an operator who chose
 * `--max-semi-space-size=4` keeps it. V8 spells `_` and `-` alike in option names.
 */
export function nodeFlagsToAdd(wanted: readonly string[], inEffect: readonly string[] = nodeFlagsInEffect()): string[] {
  const name = (flag: string) => flag.split('=')[0]!.replaceAll('_', '-');
  const given = new Set(inEffect.map(name));
  return wanted.filter((f) => !given.has(name(f)));
}
