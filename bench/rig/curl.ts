import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { taskset } from './pinning.ts';
import type { PreparedFile } from './prepared.ts';

export const CURL = process.env.CLDL_BENCH_CURL ?? '/usr/bin/curl';
const TIME = '/usr/bin/time';

export interface CurlRun {
  /** Wall time of the curl process, ms. */
  ms: number;
  bytes: number;
  /** curl's user + system CPU time, ms (from /usr/bin/time). */
  cpuMs: number;
  /** curl's peak RSS, bytes (the largest of several processes). */
  peakRss: number;
}

/** The curl flags every run shares: quiet, fail on HTTP errors, trust the simulator's certificate. */
function common(caFile: string | undefined): string[] {
  return ['-sS', '--fail', ...(caFile ? ['--cacert', caFile] : [])];
}

function headerArgs(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
}

/** Runs curl (on `cores`) under /usr/bin/time; resolves with wall and CPU time and peak RSS. */
async function timed(args: string[], cores: string | undefined): Promise<{ ms: number; cpuMs: number; peakRss: number }> {
  const started = performance.now();
  const cmd = taskset(cores, CURL, args);
  const child = spawn(TIME, ['-f', 'cldl-bench-time %U %S %M', cmd.command, ...cmd.args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  const ms = performance.now() - started;
  const m = /cldl-bench-time ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (code !== 0 || !m) throw new Error(`curl exited with ${code}: ${stderr.trim()}`);
  return { ms, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, peakRss: Number(m[3]) * 1024 };
}

async function checkSizes(files: readonly PreparedFile[], outputs: readonly string[]): Promise<number> {
  let bytes = 0;
  for (const [i, f] of files.entries()) {
    const size = (await stat(outputs[i]!)).size;
    if (size !== f.size) throw new Error(`curl wrote ${size} bytes to ${outputs[i]}, expected ${f.size}`);
    bytes += size;
  }
  return bytes;
}

/** `curl -o output` of one prepared file. */
export async function curlOne(file: PreparedFile, output: string, caFile: string | undefined, cores?: string): Promise<CurlRun> {
  const t = await timed([...common(caFile), ...headerArgs(file.headers), '-o', output, file.endpoint.uri], cores);
  return { ...t, bytes: await checkSizes([file], [output]) };
}

/** One curl process per file, all started at once; timed until the last one exits. */
export async function curlProcesses(files: readonly PreparedFile[], outputs: readonly string[], caFile: string | undefined, cores?: string): Promise<CurlRun> {
  const started = performance.now();
  const runs = await Promise.all(files.map((f, i) => timed([...common(caFile), ...headerArgs(f.headers), '-o', outputs[i]!, f.endpoint.uri], cores)));
  const ms = performance.now() - started;
  return { ms, cpuMs: runs.reduce((s, r) => s + r.cpuMs, 0), peakRss: Math.max(...runs.map((r) => r.peakRss)), bytes: await checkSizes(files, outputs) };
}

/** One `curl -Z --parallel-max N -K config` over every file: curl's own connection reuse and parallelism. */
export async function curlParallel(
  files: readonly PreparedFile[],
  outputs: readonly string[],
  caFile: string | undefined,
  parallelMax: number,
  configDir: string,
  cores?: string,
): Promise<CurlRun> {
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  // The files share one API session (one vSphere client prepared them), so one set of header lines
  // serves every URL of the operation.
  const headers = new Set(files.map((f) => JSON.stringify(f.headers)));
  if (headers.size !== 1) throw new Error('curlParallel wants files prepared under one API session');
  const lines = Object.entries(files[0]!.headers).map(([k, v]) => `header = ${quote(`${k}: ${v}`)}`);
  for (const [i, f] of files.entries()) lines.push(`url = ${quote(f.endpoint.uri)}`, `output = ${quote(outputs[i]!)}`);
  const config = path.join(configDir, `curl-${process.pid}-${Date.now()}.conf`);
  await writeFile(config, `${lines.join('\n')}\n`);
  const t = await timed([...common(caFile), '-Z', '--parallel-max', String(parallelMax), '-K', config], cores);
  return { ...t, bytes: await checkSizes(files, outputs) };
}
