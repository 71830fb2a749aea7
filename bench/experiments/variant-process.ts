// One download of one prepared file in a fresh process, the way a variant says (see
// transfer-variants.ts); prints one JSON line with its timings and exits.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { downloadFile, DownloadPart, type DigestAlgorithm } from '../../src/transfer/index.ts';
import { VCenterClient } from '../../src/vsphere/index.ts';
import type { PreparedDownload } from '../transfer-process.ts';
import { ProtoWriter, type HashMode } from './proto-writer.ts';

export type Variant =
  /** cldl's transfer layer as it is. */
  | { kind: 'cldl'; algorithms: DigestAlgorithm[]; highWaterMark: number }
  /** The prototype writer behind undici's `stream()` (as cldl) or `request()` + pipeline. */
  | { kind: 'proto'; api: 'stream' | 'request'; hash: HashMode; highWaterMark: number; inflight: number; maxWrite: number; syncEvery: number; sync: boolean }
  /** No disk at all: the network and parser ceiling, optionally with the hash. */
  | { kind: 'sink'; hash: boolean; highWaterMark: number };

export interface VariantConfig extends PreparedDownload {
  variant: Variant;
}

export interface VariantResult {
  ms: number;
  /** Until the last byte was written (before any fdatasync). */
  transferMs: number;
  syncMs: number;
  cpuMs: number;
  /** Minor page faults during the transfer: memory touched for the first time. */
  minorFaults: number;
  /** writev calls, and buffers per call. */
  writes: number;
  buffersPerWrite: number;
  digest?: string | undefined;
}

const config = JSON.parse(process.env.CLDL_BENCH_VARIANT ?? '{}') as VariantConfig;
const vcenter = new VCenterClient({ url: config.url, ...config.credentials, api: 'api', ...(config.ca ? { tls: { ca: config.ca } } : {}) });
const source = vcenter.dataEndpoint(config.endpoint);
await vcenter.login();
const headers = await source.headers();
const url = new URL(source.url);
const v = config.variant;

// Count positioned writes (calls and bytes) of whichever writer runs: the syscall pattern matters.
const probe = await open('/dev/null');
type Writev = (this: unknown, buffers: Buffer[], position?: number) => Promise<{ bytesWritten: number }>;
const FileHandleProto = Object.getPrototypeOf(probe) as { writev: Writev };
await probe.close();
const writevOriginal = FileHandleProto.writev;
let writeCalls = 0;
let writeBuffers = 0;
FileHandleProto.writev = function (this: unknown, buffers: Buffer[], position?: number) {
  writeCalls++;
  writeBuffers += buffers.length;
  return writevOriginal.call(this, buffers, position);
};

const cpu = process.cpuUsage();
const faultsBefore = process.resourceUsage().minorPageFault;
const started = performance.now();
let transferEnd = started;
let digest: string | undefined;

if (v.kind === 'cldl') {
  const part = await DownloadPart.open(config.path, { algorithms: v.algorithms, resume: false, counter: { bytes: 0 } });
  const flush = part.flush.bind(part);
  part.flush = () => {
    transferEnd = performance.now();
    return flush();
  };
  await downloadFile(part, source, { fileName: 'x', expectedSize: config.size, attempts: 1, backoff: { baseMs: 1, maxMs: 1 }, highWaterMark: v.highWaterMark });
  digest = part.digests()[v.algorithms[0]!];
  await part.close();
} else if (v.kind === 'proto') {
  const file = await open(config.path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o640);
  const writer = new ProtoWriter(file, 0, { highWaterMark: v.highWaterMark, hash: v.hash, algorithm: 'sha1', inflight: v.inflight, maxWrite: v.maxWrite, syncEvery: v.syncEvery });
  const opts = { origin: url.origin, path: url.pathname, method: 'GET' as const, headers };
  if (v.api === 'stream') {
    await source.dispatcher.stream(opts, () => writer);
  } else {
    const res = await source.dispatcher.request({ ...opts, highWaterMark: v.highWaterMark });
    await pipeline(res.body, writer);
  }
  if (!writer.closed) await new Promise((r) => writer.once('close', r));
  transferEnd = performance.now();
  digest = await writer.digest();
  if (v.sync) await file.datasync();
  await file.close();
  if (writer.written !== config.size) throw new Error(`wrote ${writer.written} of ${config.size}`);
} else {
  const hash = v.hash ? createHash('sha1') : undefined;
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: v.highWaterMark,
    writev(chunks, cb) {
      for (const { chunk } of chunks) {
        hash?.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      cb();
    },
  });
  await source.dispatcher.stream({ origin: url.origin, path: url.pathname, method: 'GET', headers }, () => sink);
  if (!sink.closed) await new Promise((r) => sink.once('close', r));
  transferEnd = performance.now();
  digest = hash?.digest('hex');
  if (bytes !== config.size) throw new Error(`received ${bytes} of ${config.size}`);
}

const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
const minorFaults = process.resourceUsage().minorPageFault - faultsBefore;
const result: VariantResult = { ms, minorFaults, transferMs: transferEnd - started, syncMs: ms - (transferEnd - started), cpuMs: (used.user + used.system) / 1000, writes: writeCalls, buffersPerWrite: writeBuffers / Math.max(1, writeCalls), digest };
process.stdout.write(`${JSON.stringify(result)}\n`);
await vcenter.close();
