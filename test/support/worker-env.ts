import { REDIS_URL } from './redis.ts';

/**
 * The environment a `cldl worker` (or a daemon's configuration) needs to run against a test's own
 * simulator, started with `users: { user: 'pass' }`: its Redis prefix, download root and vCenter.
 */
export function simulatorWorkerEnv(sim: { url: string }, prefix: string, root: string): Record<string, string> {
  return {
    REDIS_URL,
    CLDL_REDIS_PREFIX: prefix,
    CLDL_DOWNLOAD_ROOT: root,
    VCENTER_URL: sim.url,
    VCENTER_USERNAME: 'user',
    VCENTER_PASSWORD: 'pass',
  };
}
