import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config/load-config.ts';
import { createLogger } from '../../src/logging/create-logger.ts';
import { startWorkerDaemon, type WorkerDaemon } from '../../src/service/worker-daemon.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { connectRedis, dropPrefix, testPrefix } from './redis.ts';
import { simulatorWorkerEnv } from './worker-env.ts';
import { repoRoot } from './shared-tools.ts';

export interface RunningDaemon {
  daemon: WorkerDaemon;
  prefix: string;
  root: string;
  stop(): Promise<void>;
}

/**
 * `cldl worker` in this process, as the configuration makes it: the package's defaults alone (a
 * developer's config/local.json must not leak into tests), `env` on top, the simulator as vCenter,
 * its own key prefix and download root, the admin server on a free port.
 */
export async function startDaemon(sim: Simulator, env: Record<string, string> = {}, logger: Logger = createLogger({ level: 'silent', pretty: 'never' })): Promise<RunningDaemon> {
  const prefix = testPrefix();
  const root = await mkdtemp(path.join(tmpdir(), 'cldl-root-'));
  const configDir = await mkdtemp(path.join(tmpdir(), 'cldl-config-'));
  await copyFile(path.join(repoRoot, 'config/default.json'), path.join(configDir, 'default.json'));
  const config = loadConfig({
    configDir,
    env: {
      ...simulatorWorkerEnv(sim, prefix, root),
      CLDL_HTTP_PORT: '0',
      VCENTER_API: 'api',
      ...env,
    },
  });
  const daemon = await startWorkerDaemon(config, logger);
  return {
    daemon,
    prefix,
    root,
    async stop() {
      await daemon.shutdown();
      const redis = connectRedis();
      await dropPrefix(redis, prefix);
      await redis.quit();
      await rm(root, { recursive: true, force: true });
      await rm(configDir, { recursive: true, force: true });
    },
  };
}
