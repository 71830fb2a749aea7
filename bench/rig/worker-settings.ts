import os from 'node:os';
import { loadConfig } from '../../src/config/load-config.ts';
import type { DownloadWorkerOptions } from '../../src/orchestrator/index.ts';
import { workerOptionsFrom } from '../../src/service/worker-options.ts';

export type WorkerSettings = Omit<DownloadWorkerOptions, 'redis' | 'prefix' | 'downloadRoot' | 'vcenters' | 'logger'>;

/**
 * Exactly what `cldl worker` runs with when nothing is configured: config/default.json through the
 * service's own mapping, so the bench measures the product, not a tuned copy of it.
 */
export function productionSettings(): WorkerSettings {
  const config = loadConfig({ env: {}, cwd: os.tmpdir() });
  const none = undefined as never;
  const { redis: _redis, prefix: _prefix, downloadRoot: _root, vcenters: _vcenters, logger: _logger, ...settings } = workerOptionsFrom(config, {
    redis: none,
    vcenters: none,
    logger: none,
  });
  return settings;
}

/** `base` with `overrides` merged in, at any depth. */
export function withOverrides(base: WorkerSettings, overrides: DeepPartial<WorkerSettings> = {}): WorkerSettings {
  return mergeObjects(structuredClone(base), overrides) as unknown as WorkerSettings;
}

function mergeObjects(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const current = out[k];
    out[k] = v && typeof v === 'object' && current && typeof current === 'object' ? mergeObjects(current as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
