import { setTimeout as sleep } from 'node:timers/promises';
import type { LibraryItemInfo, VCenterClient } from '../vsphere/index.ts';
import { SyncTimeoutError } from './errors.ts';

export interface ItemSyncOptions {
  timeoutMs: number;
  /** First poll delay; it doubles up to 10 s. */
  pollMs: number;
  signal: AbortSignal;
  /** Called once when the item must be synchronised first. */
  onSyncing(): Promise<void>;
}

/**
 * The library item to download. A subscribed item whose content is not cached cannot be
 * prepared: vCenter is asked to synchronise it, and the item is polled until it is cached.
 */
export async function resolveItem(vc: VCenterClient, id: string, options: ItemSyncOptions): Promise<LibraryItemInfo> {
  const { signal } = options;
  let item = await vc.items.get(id, signal);
  if (item.cached !== false) return item;
  await options.onSyncing();
  await vc.items.sync(id, true, signal);
  const deadline = Date.now() + options.timeoutMs;
  for (let delay = options.pollMs; item.cached === false; delay = Math.min(delay * 2, 10_000)) {
    if (Date.now() > deadline) throw new SyncTimeoutError(id, Math.round(options.timeoutMs / 1000));
    await sleep(delay, undefined, { signal });
    item = await vc.items.get(id, signal);
  }
  return item;
}
