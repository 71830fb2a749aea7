import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '../../src/cli/local-redis.ts';

export interface OwnRedis {
  url: string;
  /** SHUTDOWN (which writes the AOF) and start again on the same port and directory. */
  restart(downMs?: number): Promise<void>;
  /** SHUTDOWN only; `up()` starts it again. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own, on a free port, with AOF on: for tests that restart Redis.
 * The shared Redis on 6379 is never restarted by a test. `cluster`: a one-node Redis Cluster
 * holding every slot, for what must work on a cluster.
 */
export async function startOwnRedis(options: { cluster?: boolean } = {}): Promise<OwnRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cldl-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', dir, '--maxmemory-policy', 'noeviction'];
  // Announced as 127.0.0.1: by default a node names itself "" in CLUSTER SLOTS, which clients cannot dial.
  if (options.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1');
  let child: ChildProcess = await launch(args, port);
  if (options.cluster) await claimAllSlots(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart(downMs = 500) {
      await shutdown(child, port);
      await sleep(downMs);
      child = await launch(args, port);
    },
    async down() {
      await shutdown(child, port);
    },
    async up() {
      child = await launch(args, port);
    },
    async stop() {
      await shutdown(child, port);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function launch(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // refused until the server is up: expected
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return child;
    } catch {
      await sleep(50);
    }
  }
  probe.disconnect();
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not start`);
}

async function claimAllSlots(port: number): Promise<void> {
  const admin = new Redis(port, '127.0.0.1');
  try {
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; i < 100 && !String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'); i++) await sleep(50);
  } finally {
    admin.disconnect();
  }
}

async function shutdown(child: ChildProcess, port: number): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  const admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
  admin.on('error', () => undefined);
  await admin.call('SHUTDOWN').catch(() => undefined); // the connection closes as the server exits
  admin.disconnect();
  await exited;
}
