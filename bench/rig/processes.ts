import { readFile } from 'node:fs/promises';
import { spawnJsonProcess as spawnTestProcess, type JsonProcess, type SpawnOptions } from '../../test/support/json-process.ts';

export type { JsonProcess, SpawnOptions };

/** A bench helper process (simulator, worker, transfer); long runs keep only their recent lines. */
export function spawnJsonProcess(script: string, options: SpawnOptions = {}): JsonProcess {
  return spawnTestProcess(script, { keepLines: 5000, ...options });
}

export interface ProcSample {
  /** Peak resident set size (VmHWM), bytes. */
  peakRss: number;
  rss: number;
  /** User + system CPU time consumed so far, ms. */
  cpuMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Reads /proc/<pid>/status and /proc/<pid>/stat. */
export async function sampleProcess(pid: number): Promise<ProcSample> {
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS'), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
}
