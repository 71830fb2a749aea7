// The simulator in its own process, so that serving (and TLS-encrypting) bytes never shares an event
// loop with the worker or the bench. Configured by the JSON in CLDL_BENCH_SIMULATOR; prints one JSON
// line once every checksum is computed (so the hashing thread is idle while anything is measured),
// then serves until SIGTERM.
import { startSimulator, type FaultRule, type ItemSpec } from '../../src/simulator/index.ts';

export interface SimulatorProcessConfig {
  tls: boolean;
  /** Groups of generated one-file items: `${name}-${i}` with the file `${name}-${i}.bin`. */
  groups: Array<{ name: string; count: number; size: number }>;
  prepareDelayMs: number;
  sessionIdleTimeoutMs: number;
  faults: FaultRule[];
}

export interface SimulatorProcessReady {
  url: string;
  certPem: string | null;
  thumbprint: string | null;
  credentials: { username: string; password: string };
  items: Array<{ id: string; name: string; file: string; size: number; sha1: string }>;
  checksumMs: number;
}

const config = JSON.parse(process.env.CLDL_BENCH_SIMULATOR ?? '{}') as SimulatorProcessConfig;
const specs: ItemSpec[] = config.groups.flatMap((g) =>
  Array.from({ length: g.count }, (_, i) => ({ name: `${g.name}-${i + 1}`, files: [{ name: `${g.name}-${i + 1}.bin`, size: g.size }] })),
);
const sim = await startSimulator({
  tls: config.tls,
  items: specs,
  prepareDelayMs: config.prepareDelayMs,
  sessionIdleTimeoutMs: config.sessionIdleTimeoutMs,
  // Lazy, then all computed below before "ready": the checksum thread must not steal a core mid-run.
  checksumsAtStart: false,
});
for (const rule of config.faults) sim.faults.add(rule);
const started = performance.now();
// All queued at once on the simulator's single hashing thread, each file hashed once.
const items = await Promise.all(
  sim.items().map(async (i) => {
    const file = i.files[0]!;
    return { id: i.id, name: i.name, file: file.name, size: file.size, sha1: (await sim.fileChecksum(i.id, file.name, 'SHA1')).toLowerCase() };
  }),
);
const ready: SimulatorProcessReady = {
  url: sim.url,
  certPem: sim.tls?.certPem ?? null,
  thumbprint: sim.tls?.thumbprint ?? null,
  credentials: sim.credentials,
  items,
  checksumMs: Math.round(performance.now() - started),
};
process.stdout.write(`${JSON.stringify(ready)}\n`);

process.once('SIGTERM', () => {
  sim.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
