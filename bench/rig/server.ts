import type { FaultRule } from '../../src/simulator/index.ts';
import { startBenchSimulator } from './simulator.ts';
import { startBenchVcsim } from './vcsim.ts';

export type Protocol = 'http' | 'https';

/**
 * What a case runs against: govmomi's vcsim (Go, /rest, plain HTTP, no Range: its data costs it
 * little CPU) or the built-in simulator (Node, /api, HTTP or HTTPS, Range, faults).
 */
export type ServerName = 'vcsim' | 'sim-http' | 'sim-https';

export const SERVERS: readonly ServerName[] = ['vcsim', 'sim-http', 'sim-https'];

export function protocolOf(server: ServerName): Protocol {
  return server === 'sim-https' ? 'https' : 'http';
}

/** One library item of one data file (vcsim items also hold the .mf manifest that vouches for it). */
export interface BenchItem {
  id: string;
  name: string;
  /** The data file: the one checked on disk and fetched by curl. */
  file: string;
  size: number;
  /** cldl can verify the file (the simulator reports a checksum; vcsim items carry a manifest). */
  verifiable: boolean;
  /** The data file's SHA-1, hex. */
  sha1: string;
}

export interface ItemGroup {
  /** Items `${name}-${i}` holding the file `${name}-${i}.bin`. */
  name: string;
  count: number;
  size: number;
}

export interface ServerSpec {
  groups: ItemGroup[];
  /** Simulator only: its prepare delay per step (default 20 ms, its own default). */
  prepareDelayMs?: number | undefined;
  /** Simulator only: fault rules in force from the start. */
  faults?: FaultRule[] | undefined;
  /**
   * vcsim only: a manifest (`.mf`, SHA-1) beside each data file, so that cldl verifies it (vcsim
   * reports no checksum). Default true; false gives plain one-file items, as a user might seed.
   */
  manifests?: boolean | undefined;
}

export interface BenchServer {
  name: ServerName;
  protocol: Protocol;
  url: string;
  api: 'rest' | 'api';
  credentials: { username: string; password: string };
  certPem: string | null;
  /** The certificate as a file, for curl's --cacert and cldl's caFile (https only). */
  caFile: string | undefined;
  /** The server process, for its CPU time. */
  pid: number;
  items: BenchItem[];
  item(name: string): BenchItem;
  stop(): Promise<void>;
}

/** Starts `name` with `spec`'s items, on `cores` (taskset) if given; resolves once it serves them. */
export function startServer(name: ServerName, spec: ServerSpec, scratch: string, cores: string | undefined): Promise<BenchServer> {
  return name === 'vcsim' ? startBenchVcsim(spec, scratch, cores) : startBenchSimulator(protocolOf(name), spec, scratch, cores);
}

export function itemLookup(items: readonly BenchItem[]): (name: string) => BenchItem {
  const byName = new Map(items.map((i) => [i.name, i]));
  return (name) => {
    const i = byName.get(name);
    if (!i) throw new Error(`the bench server has no item ${name}`);
    return i;
  };
}
