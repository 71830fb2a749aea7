import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
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

export interface OwnRedisCluster {
  /** Every node as `127.0.0.1:port`, for `redis.clusterNodes`. */
  nodes: string[];
  /** The port of the node serving `key`'s slot as master right now, as a surviving node sees it. */
  masterOf(key: string): Promise<number>;
  /** SIGKILL the node on `port`: a crash, nothing flushed, no failover handed over. */
  kill(port: number): Promise<void>;
  /**
   * Resolves once `key`'s slot is served by a master other than `formerPort`, its replica promoted,
   * and every surviving node says the cluster is ok.
   */
  failedOver(key: string, formerPort: number, timeoutMs?: number): Promise<number>;
  /** Kills every node and removes their directories; safe to call twice, or after a failed start. */
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of the test's own: `masters` masters with `replicasPerMaster` replicas each, one
 * redis-server per node on free loopback ports, AOF on; needs Redis 7 (`--cluster-port`). Node
 * timeout 2 s so that a killed master's replica takes over within seconds, yet a node starved of CPU
 * for a second on a 2-core CI box is not failed over by mistake; validity factor 0 so a replica may
 * always take over, however long since it last heard from its master.
 */
export async function startOwnRedisCluster(options: { masters: number; replicasPerMaster: number }): Promise<OwnRedisCluster> {
  const count = options.masters * (1 + options.replicasPerMaster);
  const base = await mkdtemp(path.join(tmpdir(), 'cldl-redis-cluster-'));
  // The bus port defaults to port + 10000, which may be taken or past 65535: each node gets its own.
  const ports = await freePorts(2 * count);
  const nodes = Array.from({ length: count }, (_, i) => ({ port: ports[2 * i]!, busPort: ports[2 * i + 1]!, dir: path.join(base, `node-${i}`) }));
  const children = new Map<number, ChildProcess>();
  const alive = (port: number) => {
    const child = children.get(port);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  };
  const cluster: OwnRedisCluster = {
    nodes: nodes.map((n) => `127.0.0.1:${n.port}`),
    async masterOf(key) {
      const live = nodes.find((n) => alive(n.port));
      if (!live) throw new Error('no node of the cluster is running');
      return withAdmin(live.port, async (admin) => {
        const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', key));
        return slotOwner(admin, slot);
      });
    },
    async kill(port) {
      if (!alive(port)) return;
      const child = children.get(port)!;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async failedOver(key, formerPort, timeoutMs = 30_000) {
      const survivors = nodes.filter((n) => n.port !== formerPort && alive(n.port));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const owner = await cluster.masterOf(key).catch(() => formerPort);
        if (owner !== formerPort && (await allOk(survivors.map((n) => n.port)))) return owner;
        if (Date.now() > deadline) throw new Error(`no replica took over ${key}'s slot from 127.0.0.1:${formerPort} within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async stop() {
      for (const n of nodes) await cluster.kill(n.port);
      await rm(base, { recursive: true, force: true });
    },
  };
  try {
    for (const n of nodes) {
      await mkdir(n.dir);
      children.set(
        n.port,
        await launch(
          [
            '--port', String(n.port), '--bind', '127.0.0.1', '--dir', n.dir,
            '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction',
            '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(n.busPort),
            '--cluster-announce-ip', '127.0.0.1', '--cluster-node-timeout', '2000', '--cluster-replica-validity-factor', '0',
          ],
          n.port,
        ),
      );
    }
    await createCluster(cluster.nodes, options.replicasPerMaster);
    await settled(nodes.map((n) => n.port), options.masters);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** `redis-cli --cluster create`: slots spread over the masters, replicas assigned, the nodes met. */
function createCluster(nodes: string[], replicas: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli --cluster create failed: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

/**
 * Until every node says the cluster is ok and knows every node, and every replica has its master's
 * data: a failover before the first sync would promote an empty replica.
 */
async function settled(ports: number[], masters: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await allOk(ports, ports.length)) {
      const roles = await Promise.all(ports.map((p) => withAdmin(p, (a) => a.info('replication')).catch(() => '')));
      const synced = roles.filter((r) => r.includes('role:slave') && r.includes('master_link_status:up') && r.includes('master_sync_in_progress:0'));
      if (roles.filter((r) => r.includes('role:master')).length === masters && synced.length === ports.length - masters) return;
    }
    await sleep(100);
  }
  throw new Error(`the Redis Cluster on ports ${ports.join(', ')} did not settle`);
}

/** Every node in `ports` answers and says `cluster_state:ok` (and knows `known` nodes, if given). */
async function allOk(ports: number[], known?: number): Promise<boolean> {
  const infos = await Promise.all(ports.map((p) => withAdmin(p, (a) => a.call('CLUSTER', 'INFO')).catch(() => '')));
  return infos.every((i) => String(i).includes('cluster_state:ok') && (known === undefined || String(i).includes(`cluster_known_nodes:${known}\r`)));
}

/** The port of the master that `admin`'s node believes serves `slot`. */
async function slotOwner(admin: Redis, slot: number): Promise<number> {
  const ranges = (await admin.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
  const range = ranges.find(([from, to]) => from <= slot && slot <= to);
  if (!range) throw new Error(`no node serves slot ${slot}`);
  return Number(range[2][1]);
}

async function withAdmin<T>(port: number, fn: (admin: Redis) => Promise<T>): Promise<T> {
  const admin = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    return await fn(admin);
  } finally {
    admin.disconnect();
  }
}

/** `n` distinct free loopback ports: all held open at once, so none is handed out twice. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}
