import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Keys } from './keys.ts';

// Every key is checked before any is set, in one script: two downloads racing for overlapping
// files can never each end up with part of them.
const TAKE = `
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder and holder ~= ARGV[1] then return {i, holder} end
end
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return 0`;

const REFRESH = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]) end
end
return 0`;

const RELEASE = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0`;

/**
 * Which download is writing which final path: a running download holds the files it will commit,
 * so two downloads never write one name at once (the second waits). A hold expires unless its
 * download refreshes it, so a worker that died lets go within `ttlMs`; the same download, resumed
 * by another worker, takes its own holds back at once.
 */
export class FileHolds {
  readonly #redis: Redis | Cluster;
  readonly #keys: Keys;
  readonly #ttlMs: number;

  constructor(redis: Redis | Cluster, keys: Keys, ttlMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#ttlMs = ttlMs;
  }

  /** Holds every path for `owner`, or none: then it returns a path someone else holds, and who. */
  async take(owner: string, paths: readonly string[]): Promise<{ path: string; holder: string } | undefined> {
    if (paths.length === 0) return undefined;
    const taken = (await this.#redis.eval(TAKE, paths.length, ...this.#keysOf(paths), owner, this.#ttlMs)) as 0 | [number, string];
    return taken === 0 ? undefined : { path: paths[taken[0] - 1]!, holder: taken[1] };
  }

  async refresh(owner: string, paths: readonly string[]): Promise<void> {
    if (paths.length) await this.#redis.eval(REFRESH, paths.length, ...this.#keysOf(paths), owner, this.#ttlMs);
  }

  async release(owner: string, paths: readonly string[]): Promise<void> {
    if (paths.length) await this.#redis.eval(RELEASE, paths.length, ...this.#keysOf(paths), owner);
  }

  #keysOf(paths: readonly string[]): string[] {
    // Paths can be long and hold anything; their digest is a fixed-size key under the hash tag.
    return paths.map((p) => this.#keys.hold(createHash('sha256').update(p).digest('hex')));
  }
}
