import type { ChecksumAlgorithm } from './checksums.ts';
import { isChecksumAlgorithm } from './checksums.ts';
import { SimulatorConfigError } from './errors.ts';

/** A generated library item. */
export interface ItemSpec {
  /** Default: a random UUID, as vCenter assigns. */
  id?: string;
  name: string;
  /** Default: `ovf` if a file ends in .ovf, else the first file's extension, else `file`. */
  type?: string;
  /** In the subscribed library, with a source_id; sync applies. */
  subscribed?: boolean;
  /** Default true. A subscribed item may start uncached: its files cannot be prepared until a sync. */
  cached?: boolean;
  /** Adds `<name>.mf`, an OVF manifest with the SHA1 of every other file. */
  manifest?: boolean;
  /**
   * Files in order. Without `content` the bytes are generated (deterministic, any size); with it,
   * `size` must equal its byte length. Names are served as given, unsafe ones included.
   */
  files: Array<{ name: string; size: number; content?: string | Uint8Array }>;
}

/** A library of its own, beside the default ones (cldl-sim, cldl-sim-subscribed) that `items` go to. */
export interface LibrarySpec {
  name: string;
  /** Default: a random UUID. */
  id?: string;
  /** Default LOCAL. Every item of a SUBSCRIBED library is subscribed (sync applies). */
  type?: 'LOCAL' | 'SUBSCRIBED';
  items: ItemSpec[];
}

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** true: a self-signed certificate made at start for 127.0.0.1 and localhost; or your own PEMs. */
  tls?: boolean | { cert: string; key: string };
  /** username → password. Default { user: 'pass' }. */
  users?: Record<string, string>;
  /** Each plain file an item, each sub-folder one multi-file item (see docs/simulator.md). */
  seedDir?: string;
  /** Into cldl-sim, or cldl-sim-subscribed for subscribed items. */
  items?: ItemSpec[];
  /**
   * More libraries, listed before the default ones. Item names are unique within a library; the
   * same name may appear in two. A library named cldl-sim (LOCAL) is the default one: `items` and
   * seeded items join it.
   */
  libraries?: LibrarySpec[];
  /** Download sessions expire after this long without activity. Default 300_000 (5 min). */
  sessionIdleTimeoutMs?: number;
  /** API (login) sessions expire after this long unused. Default 1_800_000 (30 min). */
  apiSessionIdleTimeoutMs?: number;
  /** Per prepare step (PREPARE_REQUESTED → PREPARING → PREPARED). Default 20. */
  prepareDelayMs?: number;
  /** Subscribed-item sync. Default 100. */
  syncDelayMs?: number;
  /** Default SHA1. */
  checksumAlgorithm?: ChecksumAlgorithm;
  /** File.Info.size absent until the file was fully downloaded in the session. Default false. */
  sizeUntilDownloaded?: boolean;
  /** Default true; false ignores Range headers, like a server without Range support. */
  ranges?: boolean;
  /** PRNG seed for probabilistic faults. Default 1. */
  seed?: number;
  /**
   * Default true: hash every disk and generated file in the background from start, so File.get
   * after a download rarely waits. Benchmarks turn it off to keep a core free.
   */
  checksumsAtStart?: boolean;
}

export type ResolvedOptions = Required<Omit<SimulatorOptions, 'tls' | 'seedDir'>> & Pick<SimulatorOptions, 'tls' | 'seedDir'>;

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new SimulatorConfigError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

function libraries(specs: LibrarySpec[] | undefined): LibrarySpec[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) throw new SimulatorConfigError('libraries must be an array');
  for (const l of specs) {
    if (!Array.isArray(l.items)) throw new SimulatorConfigError(`library ${String(l.name)}: items must be an array`);
  }
  return specs;
}

export function resolveOptions(o: SimulatorOptions): ResolvedOptions {
  const users = o.users ?? { user: 'pass' };
  if (Object.keys(users).length === 0) throw new SimulatorConfigError('users must name at least one user');
  const checksumAlgorithm = o.checksumAlgorithm ?? 'SHA1';
  if (!isChecksumAlgorithm(checksumAlgorithm)) throw new SimulatorConfigError(`unknown checksumAlgorithm ${String(checksumAlgorithm)}`);
  return {
    host: o.host ?? '127.0.0.1',
    port: nonNegative('port', o.port ?? 0),
    tls: o.tls,
    users,
    seedDir: o.seedDir,
    items: o.items ?? [],
    libraries: libraries(o.libraries),
    sessionIdleTimeoutMs: nonNegative('sessionIdleTimeoutMs', o.sessionIdleTimeoutMs ?? 300_000),
    apiSessionIdleTimeoutMs: nonNegative('apiSessionIdleTimeoutMs', o.apiSessionIdleTimeoutMs ?? 1_800_000),
    prepareDelayMs: nonNegative('prepareDelayMs', o.prepareDelayMs ?? 20),
    syncDelayMs: nonNegative('syncDelayMs', o.syncDelayMs ?? 100),
    checksumAlgorithm,
    sizeUntilDownloaded: o.sizeUntilDownloaded ?? false,
    ranges: o.ranges ?? true,
    seed: o.seed ?? 1,
    checksumsAtStart: o.checksumsAtStart ?? true,
  };
}

/** The `count`×`size` shorthand: items gen-1…gen-N, each one generated file `gen-N.bin`. */
export function generatedItems(count: number, size: number): ItemSpec[] {
  if (!Number.isInteger(count) || count < 1) throw new SimulatorConfigError(`count must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(size) || size < 0) throw new SimulatorConfigError(`size must be a non-negative integer, got ${size}`);
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => {
    const name = `gen-${String(i + 1).padStart(width, '0')}`;
    return { name, files: [{ name: `${name}.bin`, size }] };
  });
}
