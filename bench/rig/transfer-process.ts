// cldl's transfer layer alone, in its own process: DownloadPart + downloadFile of one prepared file,
// with the hash algorithms asked for ([] = a plain stream to disk). Configured by the JSON in
// CLDL_BENCH_TRANSFER; prints one JSON line with the time and CPU it took, then exits.
import { downloadFile, DownloadPart, type DigestAlgorithm } from '../../src/transfer/index.ts';
import { VCenterClient, type TransferEndpoint } from '../../src/vsphere/index.ts';

/** One prepared file on a bench server, to download to `path` in a process of its own. */
export interface PreparedDownload {
  url: string;
  api: 'rest' | 'api';
  credentials: { username: string; password: string };
  ca: string | null;
  endpoint: TransferEndpoint;
  size: number;
  path: string;
}

export interface TransferProcessConfig extends PreparedDownload {
  algorithms: DigestAlgorithm[];
  highWaterMark: number;
}

export interface TransferProcessResult {
  ms: number;
  cpuMs: number;
  digests: Partial<Record<DigestAlgorithm, string>>;
}

const config = JSON.parse(process.env.CLDL_BENCH_TRANSFER ?? '{}') as TransferProcessConfig;
const vcenter = new VCenterClient({ url: config.url, ...config.credentials, api: config.api, ...(config.ca ? { tls: { ca: config.ca } } : {}) });
const source = vcenter.dataEndpoint(config.endpoint);
await vcenter.login(); // not part of the transfer

const cpu = process.cpuUsage();
const started = performance.now();
const part = await DownloadPart.open(config.path, { algorithms: config.algorithms, resume: false, counter: { bytes: 0 } });
await downloadFile(part, source, {
  fileName: 'bench.bin',
  expectedSize: config.size,
  attempts: 1,
  backoff: { baseMs: 100, maxMs: 100 },
  highWaterMark: config.highWaterMark,
});
const digests = part.digests();
await part.close();
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
const result: TransferProcessResult = { ms, cpuMs: (used.user + used.system) / 1000, digests };
process.stdout.write(`${JSON.stringify(result)}\n`);
await vcenter.close();
