/**
 * Which cores the server and the client may use. This VM has two, and the server runs on it too,
 * where a real vCenter would not. Whatever the server spends competes with the client unless it
 * is kept apart.
 *
 * - `server` (default): the server (vcsim or the simulator) on core 1 only; the client (the cldl
 *   worker, curl, the transfer process) may use both. Core 0 is always the client's, and the client
 *   has what the server leaves of core 1, which is most of it (both servers spend 0.2–0.5 CPU s per
 *   GB here). That is closest to a user's host, where the server is elsewhere and the client has
 *   every core. curl is one thread and gets the same from every pinning (1077–1286 MB/s from vcsim
 *   under all three, one --quick run each); cldl uses the second core for its thread-pool writes
 *   and hashing (334 MB/s pinned to one core, 476 here, 533 unpinned).
 * - `split`: the server on core 1, the client on core 0: cldl measured as on a one-core host.
 * - `none`: nothing pinned; the scheduler may put the server on the client's busiest core.
 *
 * Redis and the bench process (the producer) always float: they are idle during a large transfer.
 */
export type Pinning = 'split' | 'server' | 'none';

export const PINNINGS: readonly Pinning[] = ['server', 'split', 'none'];

export interface Cores {
  server: string | undefined;
  client: string | undefined;
}

export function coresFor(pinning: Pinning): Cores {
  switch (pinning) {
    case 'server':
      return { server: '1', client: undefined };
    case 'split':
      return { server: '1', client: '0' };
    case 'none':
      return { server: undefined, client: undefined };
  }
}

/** `command args` under `taskset -c cores` when cores are given (taskset execs: same PID). */
export function taskset(cores: string | undefined, command: string, args: readonly string[]): { command: string; args: string[] } {
  return cores === undefined ? { command, args: [...args] } : { command: 'taskset', args: ['-c', cores, command, ...args] };
}
