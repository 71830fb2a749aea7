import path from 'node:path';
import type { Report } from '../rig/report.ts';
import type { Protocol } from '../rig/simulator.ts';
import type { WorkerSettings } from '../rig/worker-settings.ts';

export interface CaseContext {
  protocol: Protocol;
  quick: boolean;
  /** A/B rounds per comparison (at least 3). */
  rounds: number;
  /** A fresh directory on the real disk for this case; removed afterwards. */
  scratch: string;
  report: Report;
  settings: WorkerSettings;
  /** When set, every worker process writes a CPU profile into this directory. */
  profileDir: string | undefined;
  /** Quiet time before each timed large-file run (see `settle` in disk.ts). */
  settleMs: number;
  /** A unique stamp for file names of this bench run. */
  stamp: string;
}

export interface BenchCase {
  id: number;
  title: string;
  run(ctx: CaseContext): Promise<void>;
}

export const MiB = 1 << 20;
export const GiB = 1 << 30;

/** Where a worker of `label` writes its profile, if profiling. */
export function profilePath(ctx: CaseContext, label: string): string | undefined {
  return ctx.profileDir && path.join(ctx.profileDir, `${ctx.stamp}-${label}-${ctx.protocol}.cpuprofile`);
}

export function sizeLabel(bytes: number): string {
  return bytes >= GiB ? `${bytes / GiB} GiB` : bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / 1024} KiB`;
}
