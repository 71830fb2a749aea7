import path from 'node:path';
import { CldlRig } from '../rig/cldl.ts';
import type { Cores } from '../rig/pinning.ts';
import type { Report } from '../rig/report.ts';
import { startServer, type BenchServer, type ServerName, type ServerSpec } from '../rig/server.ts';
import type { WorkerStartMode } from '../rig/worker.ts';

export interface CaseContext {
  /** What this run of the case is against. */
  server: ServerName;
  quick: boolean;
  /** A/B rounds per comparison (at least 3). */
  rounds: number;
  /** A fresh directory on the real disk for this case; removed afterwards. */
  scratch: string;
  report: Report;
  /** Where the server and the clients may run (taskset). */
  cores: Cores;
  /** How `cldl worker` is started (see rig/worker.ts). */
  workerStart: WorkerStartMode;
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
  /** The servers it runs against by default; none skips the case. */
  servers(quick: boolean): ServerName[];
  run(ctx: CaseContext): Promise<void>;
}

export const MiB = 1 << 20;
export const GiB = 1 << 30;

/** The case's server, on the server's cores. */
export function startCaseServer(ctx: CaseContext, spec: ServerSpec): Promise<BenchServer> {
  return startServer(ctx.server, spec, ctx.scratch, ctx.cores.server);
}

/** `cldl worker` against `server`, on the client's cores, in a fresh directory under the scratch. */
export function startCldl(ctx: CaseContext, server: BenchServer, label: string, o: { profile?: boolean; config?: Record<string, unknown> } = {}): Promise<CldlRig> {
  return CldlRig.start({
    server,
    root: path.join(ctx.scratch, `cldl-${label}`),
    mode: ctx.workerStart,
    cores: ctx.cores.client,
    config: o.config,
    cpuProfile: (o.profile ?? true) && ctx.profileDir ? path.join(ctx.profileDir, `${ctx.stamp}-${label}-${ctx.server}.cpuprofile`) : undefined,
  });
}

export function sizeLabel(bytes: number): string {
  return bytes >= GiB ? `${bytes / GiB} GiB` : bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / 1024} KiB`;
}

/** CPU seconds per decimal GB. */
export function cpuPerGB(cpuMs: number, bytes: number): number {
  return cpuMs / 1000 / (bytes / 1e9);
}
