/**
 * Which cores the server and the client may use. This VM has two: whatever the server spends
 * (the Node simulator encrypting TLS and generating bytes costs about as much as the client)
 * competes with the client unless each has its own.
 *
 * - `split` (default): the server on core 1, the client (the cldl worker, curl, the transfer
 *   process) on core 0. Both clients get the same one core to themselves, the server never takes
 *   from it, and neither client can borrow the server's. curl is one thread, so this takes nothing
 *   from it; cldl's thread-pool writes and GC threads share its core, so its CPU s/GB is whole.
 * - `server`: only the server pinned (core 1); the clients float over both cores.
 * - `none`: nothing pinned.
 *
 * Redis and the bench process (the producer) always float: they are idle during a large transfer.
 */
export type Pinning = 'split' | 'server' | 'none';

export const PINNINGS: readonly Pinning[] = ['split', 'server', 'none'];

export interface Cores {
  server: string | undefined;
  client: string | undefined;
}

export function coresFor(pinning: Pinning): Cores {
  switch (pinning) {
    case 'split':
      return { server: '1', client: '0' };
    case 'server':
      return { server: '1', client: undefined };
    case 'none':
      return { server: undefined, client: undefined };
  }
}

/** `command args` under `taskset -c cores` when cores are given (taskset execs: same PID). */
export function taskset(cores: string | undefined, command: string, args: readonly string[]): { command: string; args: string[] } {
  return cores === undefined ? { command, args: [...args] } : { command: 'taskset', args: ['-c', cores, command, ...args] };
}
