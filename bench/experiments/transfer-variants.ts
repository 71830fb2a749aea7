// node bench/experiments/transfer-variants.ts [--protocol https] [--size 2G] [--rounds 3] [--variants a,b,c]
// Downloads one prepared file from a simulator process with several implementations in turn, each
// in a fresh process, rotating the order every round, and prints MB/s and the ratio to curl -o.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { curlOne } from '../curl.ts';
import { makeScratch, removeTree, settle, syncFile } from '../disk.ts';
import { PreparedSessions, type PreparedFile } from '../prepared.ts';
import { spawnJsonProcess } from '../processes.ts';
import { startBenchSimulator, type BenchSimulator, type Protocol } from '../simulator.ts';
import { mbPerSecond, summarize } from '../stats.ts';
import type { Variant, VariantConfig, VariantResult } from './variant-process.ts';

const M = 1 << 20;
const proto = (o: Partial<Extract<Variant, { kind: 'proto' }>>): Variant => ({
  kind: 'proto',
  api: 'stream',
  hash: 'main',
  highWaterMark: 4 * M,
  inflight: 1,
  maxWrite: 0,
  syncEvery: 0,
  sync: true,
  ...o,
});

export const VARIANTS: Record<string, Variant | 'curl'> = {
  curl: 'curl',
  cldl: { kind: 'cldl', algorithms: ['sha1'], highWaterMark: 4 * M },
  'cldl-nohash': { kind: 'cldl', algorithms: [], highWaterMark: 4 * M },
  'cldl-sha256': { kind: 'cldl', algorithms: ['sha1', 'sha256'], highWaterMark: 4 * M },
  'cldl-hwm1m': { kind: 'cldl', algorithms: ['sha1'], highWaterMark: M },
  'cldl-hwm16m': { kind: 'cldl', algorithms: ['sha1'], highWaterMark: 16 * M },
  'cldl-hwm64m': { kind: 'cldl', algorithms: ['sha1'], highWaterMark: 64 * M },
  'proto-main': proto({}),
  'proto-nosync': proto({ sync: false }),
  'proto-nohash-nosync': proto({ hash: 'none', sync: false }),
  'proto-worker': proto({ hash: 'worker' }),
  'proto-worker-nosync': proto({ hash: 'worker', sync: false }),
  'proto-inflight2': proto({ inflight: 2 }),
  'proto-inflight4': proto({ inflight: 4 }),
  'proto-request': proto({ api: 'request' }),
  'proto-hwm16m': proto({ highWaterMark: 16 * M }),
  'proto-w256k': proto({ maxWrite: 256 * 1024 }),
  'proto-w256k-nohash': proto({ maxWrite: 256 * 1024, hash: 'none' }),
  'proto-w256k-worker': proto({ maxWrite: 256 * 1024, hash: 'worker' }),
  'proto-w256k-inflight2': proto({ maxWrite: 256 * 1024, inflight: 2 }),
  'proto-w256k-inflight4': proto({ maxWrite: 256 * 1024, inflight: 4 }),
  'proto-w256k-sync64m': proto({ maxWrite: 256 * 1024, syncEvery: 64 * M }),
  'proto-w256k-sync256m': proto({ maxWrite: 256 * 1024, syncEvery: 256 * M }),
  'proto-w256k-inflight2-sync256m': proto({ maxWrite: 256 * 1024, inflight: 2, syncEvery: 256 * M }),
  'proto-w256k-inflight2-worker': proto({ maxWrite: 256 * 1024, inflight: 2, hash: 'worker' }),
  'proto-w256k-inflight2-nohash': proto({ maxWrite: 256 * 1024, inflight: 2, hash: 'none' }),
  'cldl-hwm256k': { kind: 'cldl', algorithms: ['sha1'], highWaterMark: 256 * 1024 },
  'cldl-hwm128k': { kind: 'cldl', algorithms: ['sha1'], highWaterMark: 128 * 1024 },
  'cldl-hwm64k': { kind: 'cldl', algorithms: ['sha1'], highWaterMark: 64 * 1024 },
  'cldl-hwm512k': { kind: 'cldl', algorithms: ['sha1'], highWaterMark: 512 * 1024 },
  'proto-hwm512k': proto({ highWaterMark: 512 * 1024 }),
  'proto-hwm512k-inflight2': proto({ highWaterMark: 512 * 1024, inflight: 2 }),
  'proto-hwm512k-inflight4': proto({ highWaterMark: 512 * 1024, inflight: 4 }),
  'proto-hwm512k-worker': proto({ highWaterMark: 512 * 1024, hash: 'worker' }),
  sink: { kind: 'sink', hash: false, highWaterMark: 4 * M },
  'sink-sha1': { kind: 'sink', hash: true, highWaterMark: 4 * M },
};

interface Sample {
  ms: number;
  transferMs: number;
  syncMs: number;
  cpuMs: number;
  writes?: number | undefined;
  buffersPerWrite?: number | undefined;
  minorFaults?: number | undefined;
}

async function runVariant(name: string, sim: BenchSimulator, file: PreparedFile, out: string, settleMs: number): Promise<Sample> {
  // `name+KEY=VALUE+…`: the variant with environment variables for its process (e.g. glibc malloc tunables).
  const [base, ...assignments] = name.split('+');
  const env = Object.fromEntries(assignments.map((a) => a.split('=') as [string, string]));
  const v = VARIANTS[base!]!;
  await settle(settleMs);
  if (v === 'curl') {
    const r = await curlOne(file, out, sim.caFile);
    const syncMs = await syncFile(out);
    await rm(out);
    return { ms: r.ms + syncMs, transferMs: r.ms, syncMs, cpuMs: r.cpuMs };
  }
  const config: VariantConfig = { url: sim.url, credentials: sim.credentials, ca: sim.certPem, endpoint: file.endpoint, size: file.size, path: out, variant: v };
  const proc = spawnJsonProcess(path.join(import.meta.dirname, 'variant-process.ts'), { env: { ...env, CLDL_BENCH_VARIANT: JSON.stringify(config) } });
  const r = (await proc.waitFor((l) => typeof l.ms === 'number', 600_000)) as unknown as VariantResult;
  await proc.stop();
  await rm(out, { force: true });
  return r;
}

function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * { '': 1, K: 1024, M: M, G: 1024 * M }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
}

const { values } = parseArgs({
  options: {
    protocol: { type: 'string', default: 'https' },
    size: { type: 'string', default: '2G' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'curl,cldl,cldl-nohash,proto-nosync,sink,sink-sha1' },
    settle: { type: 'string', default: '8000' },
  },
});
const names = values.variants.split(',');
for (const n of names) if (!(n.split('+')[0]! in VARIANTS)) throw new Error(`unknown variant ${n}; known: ${Object.keys(VARIANTS).join(', ')}`);
const size = parseSize(values.size);
const scratch = await makeScratch();
const sim = await startBenchSimulator(values.protocol as Protocol, { groups: [{ name: 'v', count: 1, size }] }, scratch);
const prepared = new PreparedSessions(sim);
try {
  const [file] = await prepared.prepare([sim.item('v-1')]);
  const samples = new Map<string, Sample[]>(names.map((n) => [n, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
    for (const n of order) {
      await prepared.keepAlive();
      samples.get(n)!.push(await runVariant(n, sim, file!, path.join(scratch, 'out.bin'), Number(values.settle)));
    }
  }
  const curl = samples.get('curl');
  console.log(`${values.protocol}, ${values.size}, ${values.rounds} rounds, settle ${values.settle} ms; MB/s are decimal; "xfer" excludes the final fdatasync`);
  console.log(`${'variant'.padEnd(22)}${'MB/s'.padStart(8)}${'spread'.padStart(14)}${'xfer MB/s'.padStart(11)}${'sync ms'.padStart(9)}${'CPU s/GB'.padStart(10)}${'÷(curl+sync)'.padStart(13)}${'÷curl xfer'.padStart(11)}${'KiB/write'.padStart(10)}${'bufs/write'.padStart(11)}${'faults/MiB'.padStart(11)}`);
  for (const n of names) {
    const s = samples.get(n)!;
    const mbs = summarize(s.map((x) => mbPerSecond(size, x.ms)));
    const xfer = summarize(s.map((x) => mbPerSecond(size, x.transferMs)));
    const sync = summarize(s.map((x) => x.syncMs));
    const cpu = summarize(s.map((x) => x.cpuMs / 1000 / (size / 1e9)));
    const ratio = curl ? summarize(s.map((x, i) => curl[i]!.ms / x.ms)).median.toFixed(2) : '';
    const ratioXfer = curl ? summarize(s.map((x, i) => curl[i]!.transferMs / x.transferMs)).median.toFixed(2) : '';
    const writes = summarize(s.map((x) => x.writes ?? NaN)).median;
    const perWrite = writes > 0 ? (size / writes / 1024).toFixed(0) : '';
    const bufs = writes > 0 ? summarize(s.map((x) => x.buffersPerWrite ?? NaN)).median.toFixed(1) : '';
    const faults = summarize(s.map((x) => x.minorFaults ?? NaN)).median;
    const faultsPerMiB = Number.isNaN(faults) ? '' : (faults / (size / M)).toFixed(1);
    console.log(
      `${n.padEnd(22)}${mbs.median.toFixed(0).padStart(8)}${`${mbs.min.toFixed(0)}–${mbs.max.toFixed(0)}`.padStart(14)}${xfer.median.toFixed(0).padStart(11)}${sync.median.toFixed(0).padStart(9)}${cpu.median.toFixed(2).padStart(10)}${ratio.padStart(13)}${ratioXfer.padStart(11)}${perWrite.padStart(10)}${bufs.padStart(11)}${faultsPerMiB.padStart(11)}`,
    );
  }
} finally {
  await prepared.close();
  await sim.stop();
  await removeTree(scratch);
}
