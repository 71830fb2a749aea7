import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';

// A token bucket in Redis, on Redis's clock: every worker process draws from the same one. Bytes
// are taken at once, into debt if need be; the caller waits until the debt is paid back at the
// rate. Long-run throughput is then exactly the rate, however many takers there are, and the
// burst bounds how far ahead of it a quiet bucket lets them start.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000) - tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
if tokens >= 0 then return 0 end
return math.ceil(-tokens * 1000 / rate)`;

/**
 * One bandwidth cap shared by every worker process: a vCenter's `maxBytesPerSecond`, or a mirror
 * run's `maxRate`. It has the shape of the transfer layer's Throttle: transfers ask for a lease of
 * about a tenth of a second's worth of bytes, and wait while the bucket is in debt.
 */
export class BandwidthBudget {
  readonly leaseBytes: number;
  readonly #redis: Redis | Cluster;
  readonly #key: string;
  readonly #bytesPerSecond: number;
  readonly #burst: number;

  constructor(redis: Redis | Cluster, key: string, bytesPerSecond: number) {
    this.#redis = redis;
    this.#key = key;
    this.#bytesPerSecond = bytesPerSecond;
    this.leaseBytes = Math.min(4 << 20, Math.max(64 << 10, Math.round(bytesPerSecond / 10)));
    this.#burst = Math.max(this.leaseBytes, Math.round(bytesPerSecond / 4));
  }

  async acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    const waitMs = (await this.#redis.eval(TAKE, 1, this.#key, this.#bytesPerSecond, this.#burst, bytes)) as number;
    if (waitMs > 0) await sleep(waitMs, undefined, { signal });
  }

  /** Back into the bucket (never above its burst); lost if Redis does not answer, which only makes the cap stricter for a moment. */
  refund(bytes: number): void {
    this.#redis.eval(TAKE, 1, this.#key, this.#bytesPerSecond, this.#burst, -bytes).catch(() => undefined);
  }
}

/** Several budgets at once (a capped vCenter and a capped mirror): every one of them must allow the bytes. */
export class Budgets {
  readonly leaseBytes: number;
  readonly #budgets: readonly BandwidthBudget[];

  constructor(budgets: readonly BandwidthBudget[]) {
    this.#budgets = budgets;
    this.leaseBytes = Math.min(...budgets.map((b) => b.leaseBytes));
  }

  async acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    await Promise.all(this.#budgets.map((b) => b.acquire(bytes, signal)));
  }

  refund(bytes: number): void {
    for (const b of this.#budgets) b.refund(bytes);
  }

  /** The one budget, all of them, or none when nothing is capped. */
  static of(budgets: ReadonlyArray<BandwidthBudget | undefined>): BandwidthBudget | Budgets | undefined {
    const present = budgets.filter((b): b is BandwidthBudget => b !== undefined);
    return present.length === 0 ? undefined : present.length === 1 ? present[0] : new Budgets(present);
  }
}

/** The caps that apply to a download: its vCenter's, and its own (or its group's). */
export class BudgetRegistry {
  readonly #redis: Redis | Cluster;
  readonly #key: (name: string) => string;
  readonly #perVCenter: Readonly<Record<string, number>>;

  constructor(redis: Redis | Cluster, key: (name: string) => string, perVCenter: Readonly<Record<string, number>>) {
    this.#redis = redis;
    this.#key = key;
    this.#perVCenter = perVCenter;
  }

  /** The budgets a download draws from; undefined when nothing caps it (then nothing is counted). */
  forDownload(downloadId: string, request: { vcenter: string; maxBytesPerSecond?: number | undefined; bandwidthGroup?: string | undefined }): BandwidthBudget | Budgets | undefined {
    const vcenterCap = this.#perVCenter[request.vcenter];
    return Budgets.of([
      vcenterCap ? new BandwidthBudget(this.#redis, this.#key(`vcenter:${request.vcenter}`), vcenterCap) : undefined,
      request.maxBytesPerSecond
        ? new BandwidthBudget(this.#redis, this.#key(`group:${request.bandwidthGroup ?? `download:${downloadId}`}`), request.maxBytesPerSecond)
        : undefined,
    ]);
  }
}
