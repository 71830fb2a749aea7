import { spawn } from 'node:child_process';
import { nodeFlagsToAdd } from '../service/node-flags.ts';

/**
 * Set for the re-executed process: it runs as it is, even if it still found a flag missing, rather
 * than re-execute forever.
 */
const MARKER = 'CLDL_REEXEC';
const RELAYED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

type Execve = NonNullable<typeof process.execve>;

/**
 * Makes this process run with `flags` and the variables of `env`, the same command and arguments:
 * returns at once when Node already has them (or an operator's own value for each), and otherwise
 * never. (Variables such as glibc's MALLOC_ARENA_MAX are read once, when the process starts.)
 *
 * V8 sizes the young generation when the process starts: `v8.setFlagsFromString(
 * '--max-semi-space-size=1')` run first thing leaves it growing to 32 MiB halves all the same
 * (measured on Node 24: new_space reached 64 MiB; 2 MiB with the flag on the command line), and
 * no V8 statistic shows the limit before it is reached. Hence a new process, with the flags before
 * Node's own options. `process.execve` replaces this one in place: same PID, so systemd's main
 * PID and a container's PID 1 stay the worker, and signals need no relay. Where Node lacks it
 * (Windows), a child runs the command; this process relays signals to it and exits as it did.
 */
export async function reexecWithNodeFlags(
  flags: readonly string[],
  env: Readonly<Record<string, string>> = {},
  execve: Execve | null = process.execve?.bind(process) ?? null,
): Promise<void> {
  if (process.env[MARKER] !== undefined) {
    // Not passed on to whatever this process starts.
    Reflect.deleteProperty(process.env, MARKER);
    return;
  }
  const missing = nodeFlagsToAdd(flags);
  const unset = Object.entries(env).filter(([name]) => process.env[name] === undefined);
  if (missing.length === 0 && unset.length === 0) return;
  const args = [...missing, ...process.execArgv, ...process.argv.slice(1)];
  const childEnv = { ...process.env, ...Object.fromEntries(unset), [MARKER]: '1' };
  // Throws only if the exec itself failed; the process is otherwise gone from here on.
  if (execve) execve(process.execPath, [process.execPath, ...args], childEnv);
  await runAsChild(args, childEnv);
}

function runAsChild(args: string[], env: NodeJS.ProcessEnv): Promise<never> {
  // In a process group of its own, so a Ctrl-C on the terminal reaches it once, through the relay:
  // a second SIGINT would stop the worker at once instead of gracefully.
  const child = spawn(process.execPath, args, { env, stdio: 'inherit', detached: process.platform !== 'win32' });
  const relay = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of RELAYED) process.on(s, relay);
  return new Promise<never>((_resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      for (const s of RELAYED) process.off(s, relay);
      // Killed by a signal: die by the same one, so whoever started us sees what happened.
      if (signal) process.kill(process.pid, signal);
      process.exit(code ?? 1);
    });
  });
}
