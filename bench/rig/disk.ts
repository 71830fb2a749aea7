import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A fresh directory on the real disk (not tmpfs: cldl's fsyncs must cost what they cost). */
export function makeScratch(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'cldl-bench-'));
}

/**
 * Writes every dirty page back. Called before each timed run so that neither side of a comparison
 * pays for the write-back of the run before it (2 GiB fit under the dirty limits of this machine, so
 * a run that starts while the previous file is being flushed is throttled by the kernel).
 */
export async function syncDisk(): Promise<void> {
  await run('sync');
}

/**
 * `syncDisk()`, then `ms` of quiet. This VM's balloon driver has free page reporting on: pages freed
 * (the last run's deleted file) go back to the host after ~2 s, and touching them again costs a host
 * fault. Writing 2 GiB into the page cache runs at ~3 GB/s right after a deletion and ~310 MB/s
 * 8 s later (bench/experiments/page-cache-temperature.ts): a run started early or late would be
 * measuring that, not its own work. Every timed run starts from the same settled, "cold" state.
 */
export async function settle(ms: number): Promise<void> {
  await syncDisk();
  await sleep(ms);
}

/** fdatasync of one file, timed (ms): what cldl's durable commit costs on top of a plain `curl -o`. */
export async function syncFile(file: string): Promise<number> {
  const started = performance.now();
  await run('sync', ['--data', file]);
  return performance.now() - started;
}

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
